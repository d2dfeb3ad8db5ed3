"""Command-line plumbing shared by ``tools/train.py`` and ``tools/test.py``.

Both accept what ``mim train`` / ``mim test`` pass through: ``--launcher``,
``--local-rank`` (``torch.distributed`` launchers) or ``--local_rank``,
``--cfg-options`` and ``--work-dir``.
"""
import argparse
import contextlib
import os
import os.path as osp
import warnings
from typing import Iterator

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import BaseLoop, Runner

from ..datasets import describe_dead_workers
from .dist import setup_cpu_distributed


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments every runner-based tool takes."""
    parser.add_argument('config', help='config file path (or a basename '
                        'under configs/ when run through mim)')
    parser.add_argument('--work-dir', help='directory for logs and '
                        'checkpoints (default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'train_dataloader.batch_size=4 "model.test_cfg.flip_test=False"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed launchers pass --local-rank (torch >= 2) or
    # --local_rank (older ones)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the common arguments.

    Sets ``work_dir`` (CLI, then config, then ``./work_dirs/<name>``), the
    launcher, ``LOCAL_RANK`` and, when no GPU is present, the ``gloo``
    backend for distributed runs.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    # no GPU: gloo process group, CPU DDP (what MMEngine 0.10.7 cannot do)
    setup_cpu_distributed(cfg, args.launcher)
    return cfg


#: what only :class:`mmengine.optim.AmpOptimWrapper` takes
_AMP_ONLY_KEYS = ('dtype', 'loss_scale', 'use_fsdp')


def fit_optim_wrapper_to_device(cfg: Config) -> None:
    """Train an ``AmpOptimWrapper`` config in float32 where there is no GPU.

    MMEngine's ``AmpOptimWrapper`` refuses to be built without a CUDA (or
    NPU/MLU/MUSA) device. The paper configs ask for bf16 autocast, which
    only pays off on GPUs; on a CPU-only machine they train with a plain
    ``OptimWrapper`` (same optimizer, gradient clipping and accumulation)
    and say so, instead of stopping. A plain ``OptimWrapper`` also drops
    the AMP-only keys, so ``--cfg-options optim_wrapper.type=OptimWrapper``
    is all it takes to train such a config in float32 on a GPU.
    """
    wrapper = cfg.get('optim_wrapper')
    if not wrapper:
        return
    if wrapper.get('type') == 'AmpOptimWrapper' and \
            not torch.cuda.is_available():
        warnings.warn('optim_wrapper.type=AmpOptimWrapper needs a GPU; no '
                      'GPU here: training in float32 with OptimWrapper')
        wrapper.type = 'OptimWrapper'
    if wrapper.get('type', 'OptimWrapper') == 'OptimWrapper':
        for key in _AMP_ONLY_KEYS:
            wrapper.pop(key, None)


@contextlib.contextmanager
def naming_samples_of_dead_workers(runner: Runner) -> Iterator[None]:
    """Re-raise PyTorch's dead data-loader worker error with the sample
    index and image file each dead worker was loading (datasets with a
    ``loading_record``, see :mod:`personlab_mm.datasets.datasets.
    loading_record`); other errors pass unchanged."""
    try:
        yield
    except RuntimeError as error:
        message = describe_dead_workers(error, _built_loader_datasets(runner))
        if message is None:
            raise
        raise RuntimeError(message) from error


def _built_loader_datasets(runner: Runner) -> list:
    """Datasets of the loops the runner has built (reading the loop
    properties would build the others)."""
    loops = (runner._train_loop, runner._val_loop, runner._test_loop)
    return [
        loop.dataloader.dataset for loop in loops
        if isinstance(loop, BaseLoop) and hasattr(loop, 'dataloader')
    ]
