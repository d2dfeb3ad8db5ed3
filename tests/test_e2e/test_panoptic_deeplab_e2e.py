"""Panoptic-DeepLab end to end through the toolbox, as real subprocesses
run outside the repo: ``mim train personlab_mm pdl_r18_synthetic.py`` (the
config by its basename, as users type it) for a few iterations on a few
synthetic panoptic images logs the three losses and writes a checkpoint;
``mim test`` loads it and reports PQ, segm AP and mIoU in one pass, with
pictures."""
import glob
import json
import os.path as osp

import pytest
import torch
from personlab_testing import mim_executable, run_command

pytestmark = pytest.mark.slow

CONFIG = 'pdl_r18_synthetic.py'
ITERS = 4
# a few tiny iterations: 8 synthetic train images at batch 2, 4 val
# images, no worker processes; every positive centre-heatmap maximum is a
# centre (after 4 iterations the centres are far below the 0.1 threshold,
# and without instances CocoMetric reports no segm AP)
QUICK = [
    'model.head.test_cfg.threshold=0.0',
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
    cwd = str(tmp_path_factory.mktemp('pdl_run'))
    work = osp.join(cwd, 'work')
    log = run_command([
        mim_executable(), 'train', 'personlab_mm', CONFIG, '--work-dir',
        work, '--cfg-options', *QUICK
    ], cwd=cwd)
    return cwd, work, log


def test_mim_train_logs_the_three_losses_and_saves(trained):
    _, work, log = trained
    assert f'Iter(train) [{ITERS}/{ITERS}]' in log, log[-3000:]
    for name in ('loss_semantic', 'loss_centre', 'loss_offset'):
        assert f'{name}: ' in log, name
    # the validation at the end of training ran the three metrics
    for key in ('coco_panoptic/PQ:', 'coco/segm_mAP:', 'mIoU:'):
        assert key in log, key
    ckpt = osp.join(work, f'iter_{ITERS}.pth')
    assert osp.isfile(ckpt)
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == ITERS
    for key in ('head.semantic_head.1.weight', 'head.centre_head.1.weight',
                'head.offset_head.1.weight',
                'head.instance_decoder.aspp.pool_conv.conv.weight'):
        assert key in state['state_dict'], key


def test_mim_test_reports_pq_segm_ap_and_miou_with_pictures(trained):
    cwd, work, _ = trained
    log = run_command([
        mim_executable(), 'test', 'personlab_mm', CONFIG, '-C',
        osp.join(work, f'iter_{ITERS}.pth'), '--work-dir', work,
        '--show-dir', 'vis', '--cfg-options',
        'test_dataloader.dataset.num_images=4', QUICK[0]
    ], cwd=cwd)
    # the tool's last line (mim then prints its own)
    summary = json.loads([line for line in log.splitlines()
                          if line.startswith('{"keypoints_AP"')][-1])
    for key in ('PQ', 'segm_AP', 'mIoU'):
        assert 0. <= summary[key] <= 1., (key, summary)
    assert summary['keypoints_AP'] is None
    assert summary['PQ'] == summary['metrics']['coco_panoptic/PQ'] / 100.
    pictures = glob.glob(osp.join(summary['vis_dir'], '*'))
    assert len(pictures) == 4, summary['vis_dir']
