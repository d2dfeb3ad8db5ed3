"""tools/benchmark.py runs and ends with its JSON line (tiny settings)."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from personlab_testing import REPO_ROOT


@pytest.mark.slow
def test_benchmark_targets_and_decode_sections(tmp_path):
    out = tmp_path / 'bench.json'
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'benchmark.py'), '--sections', 'targets',
        'decode', '--device', 'cpu', '--people', '1', '3',
        '--target-people', '2', '--repeats', '1', '--out',
        str(out)
    ], cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == json.loads(out.read_text())
    assert report['machine']['device'] == 'cpu'
    assert report['targets']['2']['target_step_img_per_s'] > 0
    decode = report['decode']['cpu']
    assert decode['1']['people_found'] == 1
    assert decode['3']['people_found'] == 3
    assert decode['3']['warmup_s'] >= 0
    stages = ('prepare_ms', 'hough_ms', 'peaks_ms', 'grouping_ms',
              'scoring_ms', 'masks_ms', 'results_ms')
    for stage in stages:
        assert decode['3'][stage] >= 0
    # the stages account for the whole decoding but Python glue
    assert sum(decode['3'][s] for s in stages) <= decode['3']['total_ms']


@pytest.mark.slow
def test_benchmark_panoptic_section(tmp_path):
    """Panoptic-DeepLab post-processing finds exactly the instances of its
    maps and is reported next to the network forward."""
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'benchmark.py'), '--sections',
        'panoptic', '--device', 'cpu', '--instances', '1', '7',
        '--panoptic-sizes', '65x129', '33x33', '--repeats', '1'
    ], cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])['panoptic']
    assert report['config'] == 'pdl_r50_cityscapes.py'
    cpu = report['cpu']
    for key, n in (('65x129/1', 1), ('65x129/7', 7), ('33x33/7', 7)):
        assert cpu['postprocessing'][key]['found'] == n, key
        assert cpu['postprocessing'][key]['ms'] > 0
    assert cpu['forward_ms'] > 0 and cpu['forward_size'] == [65, 129]
    assert cpu['postprocessing_to_forward'] == pytest.approx(
        cpu['postprocessing']['65x129/7']['ms'] / cpu['forward_ms'],
        rel=1e-2, abs=1e-4)


@pytest.mark.slow
def test_benchmark_panonet_section(tmp_path):
    """PanoNet post-processing (class-wise mean-shift of noisy 12-D
    embeddings) finds exactly the instances of its maps and is reported
    next to the two-branch network forward."""
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'benchmark.py'), '--sections',
        'panonet', '--device', 'cpu', '--instances', '1', '7',
        '--panoptic-sizes', '65x129', '--repeats', '1'
    ], cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])['panonet']
    assert report['config'] == 'panonet_icnet_cityscapes.py'
    cpu = report['cpu']
    for key, n in (('65x129/1', 1), ('65x129/7', 7)):
        assert cpu['postprocessing'][key]['found'] == n, key
    assert cpu['forward_ms'] > 0 and cpu['forward_size'] == [65, 129]
