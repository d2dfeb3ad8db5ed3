"""Keypoint-only training and evaluation end to end, as a user runs it:
``mim train personlab_mm r101_crowdpose.py`` on a generated CrowdPose-format
set without masks (MMPose's layout under ``data/crowdpose``; small input,
ResNet-18 instead of ResNet-101, two iterations on the CPU via
``--cfg-options``), then ``mim test`` reports CrowdPose keypoint AP; and
the config's decode upper bound on the real CrowdPose sample."""
import json
import os.path as osp
import sys

import pytest
from crowdpose_synthetic import write_crowdpose_split
from personlab_testing import REPO_ROOT, mim_executable, run_command

pytestmark = pytest.mark.slow
UPPER_BOUND = osp.join(REPO_ROOT, 'tools', 'analysis',
                       'decode_upper_bound.py')
CONFIG = osp.join(REPO_ROOT, 'configs', 'personlab', 'r101_crowdpose.py')

SMALL = [
    # ResNet-18 (no download) at 129 px, two iterations, no workers
    'model.backbone.depth=18', 'model.backbone.init_cfg=None',
    'model.head.in_channels=512', 'model.head.intermediate_in_channels=256',
    'model.head.decoder.input_size=(129,129)',
    'train_dataloader.dataset.pipeline.1.input_size=(129,129)',
    'train_dataloader.dataset.pipeline.3.encoder.input_size=(129,129)',
    'val_dataloader.dataset.pipeline.1.longest_side=129',
    'test_dataloader.dataset.pipeline.1.longest_side=129',
    'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False', 'train_cfg.max_iters=2',
    'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
    'default_hooks.logger.interval=1'
]


@pytest.fixture(scope='module')
def crowdpose_root(tmp_path_factory):
    """A working directory with ``data/crowdpose`` in MMPose's layout:
    keypoints and boxes only, crowd indices, no masks, no areas."""
    cwd = tmp_path_factory.mktemp('crowdpose_run')
    root = str(cwd / 'data' / 'crowdpose')
    for split, n, name in (('train', 4, 'mmpose_crowdpose_trainval.json'),
                           ('val', 2, 'mmpose_crowdpose_test.json')):
        ann_file, _ = write_crowdpose_split(root, split, n,
                                            keypoints_only=True,
                                            ann_name=name)
        with open(ann_file) as f:
            anns = json.load(f)['annotations']
        assert anns and not any('segmentation' in a for a in anns)
    return str(cwd)


def test_mim_trains_and_tests_crowdpose_without_masks(crowdpose_root):
    work = osp.join(crowdpose_root, 'work')
    log = run_command([
        mim_executable(), 'train', 'personlab_mm', 'r101_crowdpose.py',
        '--work-dir', work, '--cfg-options', *SMALL
    ], cwd=crowdpose_root)
    assert 'Iter(train) [2/2]' in log
    # no masks: the segmentation loss has nothing to train
    assert 'loss/segmentation: 0.0000' in log, log[-3000:]
    assert 'crowdpose/AP:' in log and 'crowdpose/AP(M):' in log
    # two iterations barely move the heatmaps off their prior (p = 0.01):
    # a low seed threshold lets the decoder group 14-keypoint people
    log = run_command([
        mim_executable(), 'test', 'personlab_mm', 'r101_crowdpose.py', '-C',
        osp.join(work, 'iter_2.pth'), '--work-dir', work, '--cfg-options',
        *SMALL, 'model.test_cfg.peak_threshold=1e-5'
    ], cwd=crowdpose_root)
    summary = json.loads([line for line in log.splitlines()
                          if line.startswith('{"keypoints_AP"')][-1])
    assert summary['segm_AP'] is None
    assert 0. <= summary['keypoints_AP'] <= 1., summary
    assert summary['metrics']['crowdpose/AP'] == summary['keypoints_AP']


def test_crowdpose_config_upper_bound_on_the_real_sample(
        crowdpose_sample_dir, tmp_path):
    """Real CrowdPose annotations (no masks, no areas, unlabelled joints
    inside chains): perfect maps decode every person."""
    out = run_command([
        sys.executable, UPPER_BOUND, CONFIG, '--ann-file',
        osp.join(crowdpose_sample_dir, 'person_keypoints.json'), '--img-dir',
        osp.join(crowdpose_sample_dir, 'images')
    ], cwd=str(tmp_path))
    assert 'keypoints only' in out
    last = json.loads(out.strip().splitlines()[-1])
    assert last['num_keypoints'] == 14 and last['segm_AP'] is None
    assert last['keypoints_AP'] >= 0.99, last
