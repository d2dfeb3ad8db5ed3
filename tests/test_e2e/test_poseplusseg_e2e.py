"""PosePlusSeg end to end through the toolbox, as real subprocesses run
outside the repo: ``mim train`` of ``pps_r18_synthetic.py`` for a few
iterations on a few synthetic images logs PosePlusSeg's losses and writes
a checkpoint; ``mim test`` loads it and reports COCO keypoint AP and
person segm AP."""
import os.path as osp

import pytest
import torch
from personlab_testing import REPO_ROOT, mim_executable, run_command

pytestmark = pytest.mark.slow

CONFIG = osp.join(REPO_ROOT, 'configs', 'poseplusseg', 'pps_r18_synthetic.py')
ITERS = 4
# a few tiny iterations: 8 synthetic train images at batch 2, 4 val
# images, no worker processes
QUICK = [
    f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.dataset.num_images=8',
    'val_dataloader.dataset.num_images=4',
    'test_dataloader.dataset.num_images=4',
    f'default_hooks.checkpoint.interval={ITERS}',
    'default_hooks.logger.interval=1'
]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """``mim train`` in a fresh working directory (the synthetic data are
    generated under it): the directory, the work dir and the log."""
    cwd = str(tmp_path_factory.mktemp('pps_run'))
    work = osp.join(cwd, 'work')
    log = run_command([
        mim_executable(), 'train', 'personlab_mm', CONFIG, '--work-dir',
        work, '--cfg-options', *QUICK
    ], cwd=cwd)
    return cwd, work, log


def test_mim_train_logs_poseplusseg_losses_and_saves(trained):
    _, work, log = trained
    assert f'Iter(train) [{ITERS}/{ITERS}]' in log, log[-3000:]
    for name in ('loss/heatmap', 'loss/body_heatmap', 'loss/mask_offset',
                 'loss/keypoint_refine', 'loss/mask_refine'):
        assert f'{name}: ' in log, name
    # the validation at the end of training ran both metrics
    assert 'coco/AP:' in log and 'coco/segm_mAP:' in log
    ckpt = osp.join(work, f'iter_{ITERS}.pth')
    assert osp.isfile(ckpt)
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == ITERS
    for key in ('head.predictor.body.weight', 'head.predictor.mask.weight',
                'head.keypoint_refine.conv.weight',
                'head.mask_refine.conv.weight'):
        assert key in state['state_dict'], key


def test_mim_test_reports_keypoint_and_segm_ap(trained):
    cwd, work, _ = trained
    log = run_command([
        mim_executable(), 'test', 'personlab_mm', CONFIG, '-C',
        osp.join(work, f'iter_{ITERS}.pth'), '--work-dir', work,
        '--cfg-options', 'test_dataloader.dataset.num_images=4'
    ], cwd=cwd)
    assert 'coco/AP:' in log and 'coco/segm_mAP:' in log, log[-3000:]
