"""Train a PersonLab model with MMEngine's Runner.

    python tools/train.py configs/personlab/r18_synthetic.py
    mim train personlab_mm r101_coco.py --gpus 8 --launcher pytorch
    mim train personlab_mm r101_coco.py --resume   # after a kill/preemption

``--resume`` without a path continues from the newest readable checkpoint
of the work directory, skipping (with a warning naming it) one that a kill
or a full disk left unreadable; ``--resume PATH`` to an unreadable file
stops with a message naming the newest readable one. A data-loader worker
that dies is reported with the sample index and file it was loading.
"""
import argparse

import torch
from mmengine.runner import Runner

import personlab_mm  # noqa: F401  registers components, safe loading
from personlab_mm.engine import CheckpointReadError, resolve_resume
from personlab_mm.utils.cli import (add_common_args,
                                    fit_optim_wrapper_to_device, load_config,
                                    naming_samples_of_dead_workers)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a PersonLab model')
    add_common_args(parser)
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        help='resume from this checkpoint, or (without a path) from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size '
        '(config auto_scale_lr.base_batch_size)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a GPU: MMEngine\'s AmpOptimWrapper '
                             'runs on CUDA (or NPU/MLU) devices only')
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp does not support optim_wrapper {wrapper}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    fit_optim_wrapper_to_device(cfg)
    if args.resume is not None:
        try:
            resume_from = resolve_resume(cfg.work_dir, args.resume)
        except CheckpointReadError as error:
            raise SystemExit(f'error: {error}') from None
        if resume_from is not None:
            cfg.resume, cfg.load_from = True, resume_from
        # nothing to resume from: the config's load_from (if any) or scratch
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    runner = Runner.from_cfg(cfg)
    with naming_samples_of_dead_workers(runner):
        runner.train()


if __name__ == '__main__':
    main()
