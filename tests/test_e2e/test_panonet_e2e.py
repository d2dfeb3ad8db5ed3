"""PanoNet end to end through the toolbox, as real subprocesses run outside
the repo: ``mim train personlab_mm panonet_synthetic.py`` (the config by
its basename) for a few iterations on a few synthetic panoptic images logs
both losses and writes a checkpoint; ``mim test`` loads it and reports PQ,
segm AP and mIoU in one pass, with pictures; the two-stage configs hand
the stage-1 checkpoint to stage 2."""
import glob
import json
import os.path as osp

import pytest
import torch
from personlab_testing import mim_executable, run_command

pytestmark = pytest.mark.slow

CONFIG = 'panonet_synthetic.py'
ITERS = 3
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
    cwd = str(tmp_path_factory.mktemp('panonet_run'))
    work = osp.join(cwd, 'work')
    log = run_command([
        mim_executable(), 'train', 'personlab_mm', CONFIG, '--work-dir',
        work, '--cfg-options', *QUICK
    ], cwd=cwd)
    return cwd, work, log


def test_mim_train_logs_both_losses_and_saves(trained):
    _, work, log = trained
    assert f'Iter(train) [{ITERS}/{ITERS}]' in log, log[-3000:]
    for name in ('loss_semantic', 'loss_embedding'):
        assert f'{name}: ' in log, name
    for key in ('coco_panoptic/PQ:', 'mIoU:'):
        assert key in log, key
    ckpt = osp.join(work, f'iter_{ITERS}.pth')
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == ITERS
    weights = state['state_dict']
    assert weights['instance_backbone.conv_sub1.0.conv.weight'].shape[1] == 5
    assert 'head.embedding_heads.2.2.weight' in weights


def test_mim_test_reports_pq_segm_ap_and_miou_with_pictures(trained):
    cwd, work, _ = trained
    log = run_command([
        mim_executable(), 'test', 'personlab_mm', CONFIG, '-C',
        osp.join(work, f'iter_{ITERS}.pth'), '--work-dir', work,
        '--show-dir', 'vis', '--cfg-options',
        'test_dataloader.dataset.num_images=4'
    ], cwd=cwd)
    summary = json.loads([line for line in log.splitlines()
                          if line.startswith('{"keypoints_AP"')][-1])
    for key in ('PQ', 'mIoU'):
        assert 0. <= summary[key] <= 1., (key, summary)
    assert summary['PQ'] == summary['metrics']['coco_panoptic/PQ'] / 100.
    pictures = glob.glob(osp.join(summary['vis_dir'], '*'))
    assert len(pictures) == 4, summary['vis_dir']


def test_stage_two_starts_from_the_stage_one_checkpoint(tmp_path):
    cwd = str(tmp_path)
    stage1 = osp.join(cwd, 'stage1')
    run_command([
        mim_executable(), 'train', 'personlab_mm',
        'panonet_synthetic_stage1.py', '--work-dir', stage1,
        '--cfg-options', *QUICK, 'train_cfg.val_interval=1000'
    ], cwd=cwd)
    ckpt = osp.join(stage1, f'iter_{ITERS}.pth')
    first = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert first['state_dict'][
        'instance_backbone.conv_sub1.0.conv.weight'].shape[1] == 3
    log = run_command([
        mim_executable(), 'train', 'personlab_mm',
        'panonet_synthetic_stage2.py', '--work-dir', osp.join(cwd, 'stage2'),
        '--cfg-options', *QUICK, 'train_cfg.val_interval=1000',
        f'load_from={ckpt}'
    ], cwd=cwd)
    assert 'zero weights for the coordinate channels' in log, log[-3000:]
    assert f'Iter(train) [{ITERS}/{ITERS}]' in log
