"""Evaluate a PersonLab checkpoint with MMEngine's Runner.

    python tools/test.py configs/personlab/r18_synthetic.py CKPT
    mim test personlab_mm r101_coco.py -C work_dirs/r101_coco/iter_N.pth
"""
import argparse

from mmengine.runner import Runner

import personlab_mm  # noqa: F401  registers components, safe loading
from personlab_mm.utils.cli import add_common_args, load_config


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a PersonLab model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--show-dir',
        help='write pictures of the predictions into this directory '
        '(relative to the work directory)')
    parser.add_argument(
        '--interval', type=int, default=1, help='picture every N images')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show_dir is not None:
        vis = cfg.default_hooks.get('visualization')
        if vis is None:
            raise ValueError('--show-dir needs default_hooks.visualization '
                             'in the config')
        vis.enable = True
        vis.out_dir = args.show_dir
        vis.interval = args.interval
    if args.out:
        metrics = cfg.test_evaluator
        metrics = list(metrics) if isinstance(metrics, (list, tuple)) else [
            metrics
        ]
        cfg.test_evaluator = metrics + [
            dict(type='DumpResults', out_file_path=args.out)
        ]
    Runner.from_cfg(cfg).test()


if __name__ == '__main__':
    main()
