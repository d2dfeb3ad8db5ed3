"""decode_upper_bound.py on the real COCO sample (acceptance: keypoint AP
>= 0.99 and segm AP >= 0.90 with r101_coco.py's test settings, >= 0.95
with pps_r101_coco.py's) and PosePlusSeg's exclusive masks against
PersonLab's on synthetic people."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from personlab_testing import REPO_ROOT


def _upper_bound(config, ann_file, img_dir, tmp_path, out=None):
    """The JSON summary decode_upper_bound.py prints last."""
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'analysis', 'decode_upper_bound.py'),
        osp.join(REPO_ROOT, 'configs', config), '--ann-file', ann_file,
        '--img-dir', img_dir, *(['--out', str(out)] if out else [])
    ], cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize('config, min_segm_ap',
                         [('personlab/r101_coco.py', 0.90),
                          ('poseplusseg/pps_r101_coco.py', 0.95)])
def test_decode_upper_bound_on_the_coco_sample(coco_sample_dir, tmp_path,
                                               config, min_segm_ap):
    out = tmp_path / 'ub.json'
    last = _upper_bound(config,
                        osp.join(coco_sample_dir, 'person_keypoints.json'),
                        osp.join(coco_sample_dir, 'images'), tmp_path, out)
    assert last['keypoints_AP'] >= 0.99, last
    assert last['segm_AP'] >= min_segm_ap, last
    assert json.loads(out.read_text())['keypoints_AP'] == last['keypoints_AP']


@pytest.mark.slow
def test_exclusive_masks_beat_eq6_on_overlapping_synthetic_people(
        synthetic_root, tmp_path):
    """Perfect outputs of the synthetic val images (overlapping people):
    PosePlusSeg's exclusive masks reach a higher segm AP than PersonLab's
    Eq. 6, with the same keypoints."""
    ann = osp.join(synthetic_root, 'annotations', 'person_keypoints_val.json')
    images = osp.join(synthetic_root, 'images', 'val')
    personlab = _upper_bound('personlab/r101_coco.py', ann, images, tmp_path)
    pps = _upper_bound('poseplusseg/pps_r101_coco.py', ann, images, tmp_path)
    assert pps['keypoints_AP'] >= 0.99 and personlab['keypoints_AP'] >= 0.99
    assert pps['segm_AP'] > personlab['segm_AP'] + 0.05, (pps, personlab)


def test_decode_upper_bound_rejects_missing_paths(tmp_path):
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'analysis', 'decode_upper_bound.py'),
        osp.join(REPO_ROOT, 'configs', 'personlab', 'r101_coco.py'),
        '--ann-file', str(tmp_path / 'missing.json'), '--img-dir',
        str(tmp_path)
    ], cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=300)
    assert proc.returncode != 0
    assert 'missing.json does not exist' in proc.stdout
