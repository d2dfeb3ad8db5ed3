"""Evaluate a checkpoint of any method of this package (MMPose or
MMDetection side) with MMEngine's Runner.

    python tools/test.py configs/personlab/r18_synthetic.py CKPT
    mim test personlab_mm r101_coco.py -C work_dirs/r101_coco/iter_N.pth \
        --show-dir vis
    mim test personlab_mm pdl_r18_synthetic.py -C work_dirs/.../iter_N.pth

Ends with a short summary whose last line is one JSON object:
``keypoints_AP`` (``coco/AP``, ``crowdpose/AP``, ...), ``segm_AP``
(``coco/segm_mAP``), ``PQ`` and ``mIoU`` (in [0, 1], from MMDetection's
percentages), ``vis_dir`` (the pictures of ``--show-dir``, else null) and
every metric.
"""
import argparse
import json
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.runner import Runner

import personlab_mm  # noqa: F401  registers components, safe loading
from personlab_mm.evaluation import headline_metrics
from personlab_mm.utils.cli import (add_common_args, load_config,
                                    naming_samples_of_dead_workers)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a personlab_mm model')
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
        vis.interval = args.interval
        if vis.get('type') == 'DetVisualizationHook':  # MMDetection's
            vis.draw = True
            vis.test_out_dir = args.show_dir
        else:  # MMPose's PoseVisualizationHook
            vis.enable = True
            vis.out_dir = args.show_dir
    if args.out:
        metrics = cfg.test_evaluator
        metrics = list(metrics) if isinstance(metrics, (list, tuple)) else [
            metrics
        ]
        cfg.test_evaluator = metrics + [
            dict(type='DumpResults', out_file_path=args.out)
        ]
    runner = Runner.from_cfg(cfg)
    with naming_samples_of_dead_workers(runner):
        metrics = runner.test()
    vis_dir = None
    if args.show_dir is not None:
        # where both toolboxes' visualization hooks write them
        vis_dir = osp.abspath(
            osp.join(runner.work_dir, runner.timestamp, args.show_dir))
    if is_main_process():
        print_summary(metrics, vis_dir, args.checkpoint)


def print_summary(metrics: dict, vis_dir: Optional[str],
                  checkpoint: str) -> dict:
    """Print the headline numbers, then all of it as one JSON line."""
    metrics = {k: float(v) for k, v in (metrics or {}).items()}
    summary = dict(
        **headline_metrics(metrics),
        vis_dir=vis_dir,
        checkpoint=osp.abspath(checkpoint),
        metrics=metrics)

    def fmt(value):
        return 'n/a' if value is None else f'{value:.3f}'

    print('personlab_mm test summary')
    print(f'  checkpoint:       {summary["checkpoint"]}')
    print(f'  keypoints AP:     {fmt(summary["keypoints_AP"])}')
    print(f'  segmentation AP:  {fmt(summary["segm_AP"])}')
    print(f'  panoptic PQ:      {fmt(summary["PQ"])}')
    print(f'  semantic mIoU:    {fmt(summary["mIoU"])}')
    if vis_dir:
        print(f'  pictures:         {vis_dir}')
    print(json.dumps(summary))
    return summary


if __name__ == '__main__':
    main()
