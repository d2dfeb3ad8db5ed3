"""What PersonLab's decoding can reach with perfect network outputs.

Runs the config's test pipeline on a COCO-format set, encodes each image's
ground truth into perfect outputs (the training targets, at the test output
stride and test input size), decodes them with the config's decoder and
test settings (the same code path as a trained model after its forward
pass) and scores them with the config's evaluators: keypoint AP and
segmentation AP. Use it to see what stride, radius, thresholds or test size
cost before training anything.

    python tools/analysis/decode_upper_bound.py \\
        configs/personlab/r101_coco.py \\
        --ann-file data/coco/annotations/person_keypoints_val2017.json \\
        --img-dir data/coco/val2017

The last line printed is JSON: ``{"keypoints_AP": ..., "segm_AP": ...}``.
"""
import argparse
import copy
import json
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, MODELS

import personlab_mm  # noqa: F401
from personlab_mm.evaluation import perfect_maps
from personlab_mm.models.pose_estimators import image_to_input_affine
from personlab_mm.models.utils.tta import batch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--ann-file', required=True,
                        help='COCO-format person keypoints + masks json')
    parser.add_argument('--img-dir', required=True, help='image directory')
    parser.add_argument('--out', help='write the metrics to this json file')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--max-images', type=int, default=None)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. model.test_cfg.output_stride=16')
    parser.add_argument(
        '--target-options', nargs='+', action=DictAction, default={},
        help='override GeneratePersonLabTargets options of the training '
        'pipeline, e.g. supersample=1 impute_keypoints=False')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for path, what in ((args.ann_file, '--ann-file'),
                       (args.img_dir, '--img-dir')):
        if not osp.exists(path):
            sys.exit(f'{what} {path} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    if not cfg.get('test_dataloader') or not cfg.get('test_evaluator'):
        sys.exit(f'{args.config} has no test_dataloader/test_evaluator')

    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset = DATASETS.build(
        dict(
            type='CocoDataset',
            data_root='',
            data_mode='bottomup',
            ann_file=osp.abspath(args.ann_file),
            data_prefix=dict(img=osp.abspath(args.img_dir) + '/'),
            test_mode=True,
            pipeline=dataset_cfg.pipeline))
    model = MODELS.build(cfg.model).to(args.device).eval()
    codec = model.head.decoder
    test_stride = model.test_cfg.get('output_stride') or codec.output_stride
    metrics = cfg.test_evaluator
    metrics = metrics if isinstance(metrics, list) else [metrics]
    metrics = [dict(m, ann_file=osp.abspath(args.ann_file)) for m in metrics]
    evaluator = Evaluator(metrics)
    evaluator.dataset_meta = dataset.metainfo

    target_cfg = dict(training_target_cfg(cfg), **args.target_options)
    print(f'perfect outputs at output stride {test_stride}, targets as in '
          f'training: {target_cfg}')
    n = len(dataset) if args.max_images is None else min(
        args.max_images, len(dataset))
    timings, timed = {}, 0
    for i in range(n):
        data = dataset[i]
        sample = data['data_samples']
        h, w = data['inputs'].shape[-2:]
        maps = perfect_maps(codec, sample.metainfo,
                            image_to_input_affine(sample.metainfo),
                            (int(h), int(w)), test_stride, args.device,
                            target_cfg)
        batched = batch([maps])
        stages = {}
        with torch.no_grad():
            model.decode_maps(batched, [sample], input_hw=(int(h), int(w)),
                              timings=stages)
        if i > 0 or n == 1:  # the first image warms up
            for key, ms in stages.items():
                timings[key] = timings.get(key, 0.) + ms
            timed += 1
        evaluator.process(data_samples=[sample], data_batch=None)
        if (i + 1) % 50 == 0 or i + 1 == n:
            print(f'decoded {i + 1}/{n} images', flush=True)
    per_stage = {k: round(v / max(timed, 1), 2) for k, v in timings.items()}
    print(f'decoding on {args.device}: '
          f'{sum(per_stage.values()):.1f} ms per image ({per_stage}), '
          f'{timed} images timed')
    scores = evaluator.evaluate(n)
    summary = dict(
        keypoints_AP=float(scores.get('coco/AP', float('nan'))),
        segm_AP=float(scores.get('coco/segm_mAP', float('nan'))),
        decode_ms_per_image=round(sum(per_stage.values()), 2))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(summary, metrics=scores), f, indent=2)
    print(json.dumps(summary))


def training_target_cfg(cfg: Config) -> dict:
    """Options of the config's ``GeneratePersonLabTargets`` (training
    pipeline), so the perfect outputs are the targets the model learns."""
    pipeline = cfg.get('train_dataloader', {}).get('dataset', {}).get(
        'pipeline') or cfg.get('train_pipeline') or []
    for step in pipeline:
        if step.get('type') == 'GeneratePersonLabTargets':
            return {
                k: v
                for k, v in step.items() if k not in ('type', 'encoder')
            }
    return {}


if __name__ == '__main__':
    main()
