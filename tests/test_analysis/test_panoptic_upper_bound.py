"""decode_upper_bound.py on Panoptic-DeepLab configs (acceptance: PQ >= 0.95
from perfect outputs on the synthetic val split, person segm AP >= 0.95 on
the real COCO sample) and the perfect outputs themselves."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from personlab_testing import REPO_ROOT

from personlab_mm.analysis.perfect_panoptic import (class_fractions,
                                                    extended_offsets)

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis', 'decode_upper_bound.py')


def _upper_bound(config, tmp_path, *args):
    proc = subprocess.run(
        [sys.executable, TOOL, osp.join(REPO_ROOT, 'configs', config), *args],
        cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_perfect_outputs_on_the_synthetic_val_split(tmp_path):
    """The config's own test set (32 val images, generated under the
    working directory) and evaluators."""
    last = _upper_bound('panoptic_deeplab/pdl_r18_synthetic.py', tmp_path)
    assert last['PQ'] >= 0.95, last
    assert last['segm_AP'] > 0.6 and last['mIoU'] > 0.9, last
    assert last['decode_ms_per_image'] > 0


@pytest.mark.slow
def test_person_segm_ap_on_the_coco_sample(coco_sample_dir, tmp_path):
    """The person keypoint json, converted to panoptic on the fly; masks
    scored on the json itself, as PersonLab's configs score them."""
    last = _upper_bound(
        'panoptic_deeplab/pdl_r50_coco_person.py', tmp_path, '--ann-file',
        osp.join(coco_sample_dir, 'person_keypoints.json'), '--img-dir',
        osp.join(coco_sample_dir, 'images'))
    assert last['segm_AP'] >= 0.95, last
    assert last['PQ'] >= 0.95, last


def test_pose_configs_still_need_their_files(tmp_path):
    proc = subprocess.run(
        [sys.executable, TOOL,
         osp.join(REPO_ROOT, 'configs', 'personlab', 'r101_coco.py')],
        cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=300)
    assert proc.returncode != 0
    assert 'need --ann-file and --img-dir' in proc.stdout


def test_class_fractions_are_a_tent_average_of_one_hot_classes():
    semantic = torch.tensor([[0, 0, 1, 1, 255]])
    p = class_fractions(semantic, 3, void_class=2, radius=2.,
                        ignore_index=255)
    assert p.shape == (3, 1, 5)
    assert torch.allclose(p.sum(0), torch.ones(1, 5))
    # tent (0.5, 1, 0.5) / 2 along the row, renormalised at the borders
    assert p[:, 0, 1].tolist() == pytest.approx([0.75, 0.25, 0.])
    assert p[:, 0, 4].tolist() == pytest.approx([0., 1 / 3, 2 / 3])
    assert p[:, 0, 0].tolist() == pytest.approx([1., 0., 0.])


def test_extended_offsets_point_at_the_nearest_things_centre():
    offsets = torch.zeros(2, 1, 6)
    defined = torch.tensor([[0, 1, 1, 0, 0, 0]])
    offsets[0, 0, 1], offsets[0, 0, 2] = 0.5, -0.5  # centre x = 1.5
    out = extended_offsets(offsets, defined)
    assert out[0, 0].tolist() == [1.5, 0.5, -0.5, -1.5, -2.5, -3.5]
    assert (out[1] == 0).all()
