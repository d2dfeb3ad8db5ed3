"""What a method's decoding can reach with perfect network outputs.

Segmentation configs (MMDetection side, e.g. Panoptic-DeepLab, PanoNet):
the training targets at the test output stride (class-fraction semantic
logits; Panoptic-DeepLab's centre heatmap and exact offsets; PanoNet's
embeddings: one point per instance, plus ``--embedding-noise``) go
through the config's post-processing and
are scored with PQ, segm AP and mIoU, on the config's own test set by
default, or on a given COCO json: a panoptic one (``--seg-dir`` its PNGs)
or an instance / keypoint one, converted to panoptic for the config's thing
classes, its masks scored on the json itself (person segm AP as PersonLab's
configs):

    python tools/analysis/decode_upper_bound.py \
        configs/panoptic_deeplab/pdl_r18_synthetic.py
    python tools/analysis/decode_upper_bound.py \
        configs/panoptic_deeplab/pdl_r50_coco_person.py \
        --ann-file $PERSONLAB_COCO_SAMPLE/person_keypoints.json \
        --img-dir $PERSONLAB_COCO_SAMPLE/images

Last line: ``{"PQ": ..., "segm_AP": ..., "mIoU": ...,
"decode_ms_per_image": ...}`` (fractions; null when not evaluated).

Pose configs (MMPose side: PersonLab, PosePlusSeg):

Runs the config's test pipeline on a COCO-format set, encodes each image's
ground truth into perfect outputs (the training targets, at the test output
stride and test input size), decodes them with the config's head and
``test_cfg`` (the same code path as a trained model after its forward
pass) and scores them with the config's evaluators: keypoint AP and
segmentation AP. Use it to see what stride, radius, thresholds or test size
cost before training anything, and, with ``--metainfo``, what decoding
reaches on another keypoint set (MMPose dataset metainfo, e.g. CrowdPose's
14 keypoints; the kinematic tree is derived from its skeleton unless
``--tree-edges`` is given).

    python tools/analysis/decode_upper_bound.py \\
        configs/personlab/r101_coco.py \\
        --ann-file data/coco/annotations/person_keypoints_val2017.json \\
        --img-dir data/coco/val2017
    python tools/analysis/decode_upper_bound.py \\
        configs/personlab/r101_coco.py \\
        --metainfo mmpose::_base_/datasets/crowdpose.py \\
        --ann-file crowdpose/annotations/mmpose_crowdpose_test.json \\
        --img-dir crowdpose/images

Annotation files without person masks (keypoint-only data) are scored on
keypoints only. The last line printed is JSON: ``{"keypoints_AP": ...,
"segm_AP": ...}`` (``segm_AP`` is null without masks).
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
from personlab_mm.analysis import perfect_maps
from personlab_mm.analysis.panoptic_upper_bound import panoptic_upper_bound
from personlab_mm.evaluation import headline_metrics
from personlab_mm.functional import input_affine_from_meta
from personlab_mm.utils.keypoint_config import set_keypoint_set


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument(
        '--ann-file',
        help='COCO-format person keypoints (+ masks) json; for '
        'segmentation configs also a panoptic or instance json (default '
        'there: the config\'s test set)')
    parser.add_argument('--img-dir', help='image directory')
    parser.add_argument('--seg-dir',
                        help='panoptic PNG folder of a panoptic --ann-file')
    parser.add_argument(
        '--metainfo',
        help='MMPose dataset metainfo of another keypoint set: a path, or '
        'one inside the installed mmpose, e.g. '
        'mmpose::_base_/datasets/crowdpose.py')
    parser.add_argument(
        '--tree-edges', type=json.loads, default=None,
        help='with --metainfo: the kinematic tree as JSON, e.g. '
        '"[[13, 0], [13, 1], ...]" (default: derived from the skeleton)')
    parser.add_argument('--out', help='write the metrics to this json file')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--max-images', type=int, default=None)
    parser.add_argument(
        '--embedding-noise', type=float, default=0.,
        help='embedding methods (PanoNet): standard deviation of the noise '
        'added to the perfect embeddings, per dimension')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. model.test_cfg.output_stride=16')
    parser.add_argument(
        '--target-options', nargs='+', action=DictAction, default={},
        help='override GeneratePersonLabTargets options of the training '
        'pipeline, e.g. supersample=1 impute_keypoints=False')
    return parser.parse_args(argv)


def annotation_kinds(ann_file: str):
    """``(masks, areas)``: whether any non-crowd annotation of the file has
    a segmentation, and whether all have an ``area`` (CrowdPose's have
    none: OKS then takes the box area, as MMPose's CrowdPose configs do)."""
    with open(ann_file) as f:
        anns = json.load(f).get('annotations', [])
    masks = any(a.get('segmentation') and not a.get('iscrowd', 0)
                for a in anns)
    return masks, all('area' in a for a in anns)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    segmentation = cfg.get('default_scope') == 'mmdet'
    given = [(args.ann_file, '--ann-file'), (args.img_dir, '--img-dir'),
             (args.seg_dir, '--seg-dir')]
    if not segmentation and None in (args.ann_file, args.img_dir):
        sys.exit('pose configs need --ann-file and --img-dir')
    if (args.ann_file is None) != (args.img_dir is None):
        sys.exit('give --ann-file and --img-dir together')
    for path, what in given:
        if path is not None and not osp.exists(path):
            sys.exit(f'{what} {path} does not exist')
    if segmentation:
        return segmentation_main(cfg, args)
    if args.metainfo:
        set_keypoint_set(cfg, args.metainfo, args.tree_edges)
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
            pipeline=dataset_cfg.pipeline,
            **({} if 'metainfo' not in dataset_cfg else dict(
                metainfo=dataset_cfg.metainfo))))
    model = MODELS.build(cfg.model).to(args.device).eval()
    codec = model.head.decoder
    print(f'keypoint set: {codec.keypoints}')
    test_stride = model.test_cfg.get('output_stride') or codec.output_stride
    metrics = cfg.test_evaluator
    metrics = metrics if isinstance(metrics, list) else [metrics]
    masks, areas = annotation_kinds(args.ann_file)
    if not masks:
        print(f'{args.ann_file} has no person masks: keypoints only, segm AP '
              'not evaluated')
        metrics = [m for m in metrics if m['type'] != 'PersonSegmMetric']
    if not areas:
        print(f'{args.ann_file} has no annotation areas: OKS with box areas '
              '(CocoMetric use_area=False)')
        metrics = [
            dict(m, use_area=False) if m['type'] == 'CocoMetric' else m
            for m in metrics
        ]
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
        h, w = (int(v) for v in data['inputs'].shape[-2:])
        # what the data preprocessor would add (a batch of one)
        sample.set_metainfo(dict(batch_input_shape=(h, w)))
        maps = perfect_maps(codec, sample.metainfo,
                            input_affine_from_meta(sample.metainfo),
                            (h, w), test_stride, args.device, target_cfg)
        stages = {}
        with torch.no_grad():
            preds = model.head.decode(maps, [sample], model.test_cfg,
                                      timings=stages)
        model.add_pred_to_datasample(preds, None, [sample])
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
    headline = headline_metrics(scores)
    summary = dict(
        keypoints_AP=headline['keypoints_AP'],
        segm_AP=headline['segm_AP'] if masks else None,
        decode_ms_per_image=round(sum(per_stage.values()), 2),
        num_keypoints=codec.num_keypoints)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(summary, metrics=scores), f, indent=2)
    print(json.dumps(summary))


def segmentation_main(cfg: Config, args: argparse.Namespace) -> None:
    """The upper bound of an MMDetection-side config."""
    init_default_scope('mmdet')
    summary = panoptic_upper_bound(cfg, args.ann_file, args.img_dir,
                                   args.seg_dir, args.device,
                                   args.max_images, args.embedding_noise)
    print(f'post-processing on {args.device}: '
          f'{summary["decode_ms_per_image"]:.1f} ms per image')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(summary, f, indent=2)
    summary.pop('metrics')
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
