"""PanoNet's decode upper bound (acceptance: PQ >= 0.95 from perfect
embeddings on the synthetic val split, person segm AP >= 0.95 on the real
COCO sample), the perfect embeddings themselves, and the per-class
bandwidth search."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from personlab_testing import REPO_ROOT, toy_panonet_cfg, toy_panoptic_sample

from personlab_mm.analysis.bandwidth_search import (panoptic_quality,
                                                    search_bandwidths,
                                                    segment_matches)
from personlab_mm.analysis.perfect_panonet import perfect_panonet_maps

TOOLS = osp.join(REPO_ROOT, 'tools', 'analysis')
SYNTHETIC = osp.join(REPO_ROOT, 'configs', 'panonet', 'panonet_synthetic.py')


def _run(tool, args, cwd):
    proc = subprocess.run([sys.executable, osp.join(TOOLS, tool), *args],
                          cwd=str(cwd), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stdout


@pytest.mark.slow
def test_perfect_embeddings_on_the_synthetic_val_split(tmp_path):
    last, _ = _run('decode_upper_bound.py', [SYNTHETIC], tmp_path)
    assert last['PQ'] >= 0.95, last
    assert last['segm_AP'] > 0.6 and last['mIoU'] > 0.9, last
    # noise far beyond the bandwidth: the clustering falls apart
    noisy, _ = _run('decode_upper_bound.py',
                    [SYNTHETIC, '--embedding-noise', '1.0',
                     '--max-images', '8'], tmp_path)
    assert noisy['PQ'] < last['PQ'] - 0.2, noisy


@pytest.mark.slow
def test_person_segm_ap_on_the_coco_sample(coco_sample_dir, tmp_path):
    last, _ = _run('decode_upper_bound.py', [
        osp.join(REPO_ROOT, 'configs', 'panonet', 'panonet_coco_person.py'),
        '--ann-file', osp.join(coco_sample_dir, 'person_keypoints.json'),
        '--img-dir', osp.join(coco_sample_dir, 'images')
    ], tmp_path)
    assert last['segm_AP'] >= 0.95, last
    assert last['PQ'] >= 0.95, last


def _toy_head():
    return MODELS.build(toy_panonet_cfg()).head


def test_perfect_embeddings_give_one_point_per_segment():
    head = _toy_head()
    sample = toy_panoptic_sample(64, 96)
    maps = perfect_panonet_maps(head, sample, (64, 96))
    emb = maps['embedding'][0]  # (D, 16, 24) at stride 4
    assert emb.shape == (6, 16, 24)
    points = emb.flatten(1).T.unique(dim=0)
    # two things + one crowd, every other cell takes its nearest one
    assert len(points) == 3
    assert torch.allclose(points.norm(dim=1), torch.full((3, ), 6.))
    noisy = perfect_panonet_maps(head, sample, (64, 96), noise=0.1)
    spread = (noisy['embedding'] - maps['embedding']).std()
    assert 0.08 < spread < 0.12


def test_segment_matches_count_pq_by_hand():
    gt = torch.tensor([[1, 1, 1, 0], [2, 2, 0, 0]])
    pred = torch.tensor([[5, 5, 0, 0], [7, 7, 7, 3]])
    ignore = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 1]]).bool()
    counts = segment_matches(gt, pred, ignore)
    # gt 1 (3 px) vs pred 5 (2 px): IoU 2/3; gt 2 (2 px) vs pred 7
    # (3 px): IoU 2/3; pred 3 only on an ignored pixel: not counted
    assert counts['tp'] == 2 and counts['fp'] == 0 and counts['fn'] == 0
    assert counts['iou'] == pytest.approx(4 / 3)
    assert panoptic_quality(counts) == pytest.approx(2 / 3)


def test_bandwidth_search_prefers_bandwidths_covering_the_noise():
    head = _toy_head()
    sample = toy_panoptic_sample(64, 96)
    images = []
    for seed in range(2):
        maps = perfect_panonet_maps(head, sample, (64, 96), noise=0.15,
                                    seed=seed)
        emb = head.image_maps(maps, sample.metainfo, True)[1]
        images.append((sample, emb))
    result = search_bandwidths(images, 2, [0.1, 1.0, 20.])
    # noise 0.15 per dimension in 6-D: points ~0.37 from their centre;
    # 0.1 shatters the instances, 20 merges nothing here (one instance
    # per class) but is not better than 1.0 (ties keep the smaller)
    assert result['best'] == [1.0, 1.0]
    assert result['pq'][0][1] > 0.9 > result['pq'][0][0]


def test_bandwidth_tool_dry_run_prints_a_config_line(tmp_path):
    out = tmp_path / 'bandwidth.py'
    last, log = _run('panonet_bandwidth.py', [
        SYNTHETIC, '--perfect-noise', '0.1', '--max-images', '3',
        '--candidates', '0.25', '0.5', '1.0', '--out', str(out)
    ], tmp_path)
    assert len(last['bandwidth']) == 3
    assert all(b in (0.25, 0.5, 1.0) for b in last['bandwidth'])
    assert out.read_text().startswith(
        'model = dict(head=dict(test_cfg=dict(bandwidth=')
    assert 'PQ per thing class' in log
