"""decode_upper_bound.py on the real COCO sample (acceptance: keypoint AP
>= 0.99 and segm AP >= 0.90 with r101_coco.py's test settings)."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from personlab_testing import REPO_ROOT


@pytest.mark.slow
def test_decode_upper_bound_on_the_coco_sample(coco_sample_dir, tmp_path):
    out = tmp_path / 'ub.json'
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'analysis', 'decode_upper_bound.py'),
        osp.join(REPO_ROOT, 'configs', 'personlab', 'r101_coco.py'),
        '--ann-file', osp.join(coco_sample_dir, 'person_keypoints.json'),
        '--img-dir', osp.join(coco_sample_dir, 'images'), '--out', str(out)
    ], cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last['keypoints_AP'] >= 0.99, last
    assert last['segm_AP'] >= 0.90, last
    assert json.loads(out.read_text())['keypoints_AP'] == last['keypoints_AP']


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
