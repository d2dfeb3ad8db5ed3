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
