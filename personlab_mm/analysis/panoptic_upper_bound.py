"""What a segmentation method's post-processing reaches with perfect
network outputs (the MMDetection-side half of
``tools/analysis/decode_upper_bound.py``)."""
import copy
import json
import os.path as osp
import tempfile
import time
from typing import Optional

import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.evaluator import Evaluator

from ..datasets.converters.coco_instances_to_panoptic import convert
from ..evaluation import headline_metrics
from ..models.heads.panonet_head import PanoNetHead
from .perfect_panonet import perfect_panonet_maps
from .perfect_panoptic import perfect_panoptic_maps, training_target_cfg


def is_panoptic_json(ann_file: str) -> bool:
    """Whether a COCO json is panoptic (``segments_info``) rather than
    instances or keypoints."""
    with open(ann_file) as f:
        anns = json.load(f).get('annotations', [])
    return bool(anns) and 'segments_info' in anns[0]


def _thing_names(dataset_cfg: dict) -> list:
    meta = dataset_cfg.get('metainfo') or DATASETS.get(
        dataset_cfg['type']).METAINFO
    return list(meta['thing_classes'])


def given_set(cfg: Config, ann_file: str, img_dir: str,
              seg_dir: Optional[str], work_dir: str) -> tuple:
    """The dataset config and evaluators for a given COCO json.

    A panoptic json is used as it is (with ``seg_dir``, its PNGs); an
    instance or keypoint json is converted to panoptic for the config's
    thing classes (:mod:`~personlab_mm.datasets.converters.
    coco_instances_to_panoptic`) under ``work_dir``, and its instance masks
    are scored on the original json (person segm AP exactly as PersonLab's
    configs score it).

    Returns:
        tuple: dataset config, evaluator configs.
    """
    dataset = copy.deepcopy(cfg.test_dataloader.dataset)
    things = _thing_names(dataset)
    instances_json = None
    if not is_panoptic_json(ann_file):
        instances_json = ann_file
        seg_dir = osp.join(work_dir, 'panoptic')
        panoptic_json = osp.join(work_dir, 'panoptic.json')
        convert(ann_file, panoptic_json, seg_dir, things)
        ann_file = panoptic_json
    elif seg_dir is None:
        raise ValueError(f'{ann_file} is a panoptic json: give its PNG '
                         'folder with --seg-dir')
    dataset = dict(
        type='CrowdAwareCocoPanopticDataset',
        ann_file=osp.abspath(ann_file),
        data_root='',
        data_prefix=dict(img=osp.abspath(img_dir) + '/',
                         seg=osp.abspath(seg_dir) + '/'),
        metainfo=dataset.get('metainfo') or dict(
            DATASETS.get(dataset['type']).METAINFO),
        test_mode=True,
        pipeline=dataset.pipeline)
    metrics = [
        dict(type='CocoPanopticMetric', ann_file=osp.abspath(ann_file),
             seg_prefix=osp.abspath(seg_dir) + '/'),
        dict(type='SemSegMetric', iou_metrics=['mIoU'])
    ]
    if instances_json is not None:
        metrics.append(dict(type='CocoMetric', metric='segm',
                            ann_file=osp.abspath(instances_json)))
    return dataset, metrics


def panoptic_upper_bound(cfg: Config,
                         ann_file: Optional[str] = None,
                         img_dir: Optional[str] = None,
                         seg_dir: Optional[str] = None,
                         device: str = 'cpu',
                         max_images: Optional[int] = None,
                         embedding_noise: float = 0.) -> dict:
    """Perfect outputs through the config's head and post-processing,
    scored by PQ, segm AP and mIoU.

    Args:
        cfg (Config): An MMDetection-side config (``default_scope='mmdet'``).
        ann_file (str, optional): A COCO panoptic, instance or keypoint
            json (see :func:`given_set`); default: the config's test set
            and evaluators.
        img_dir (str, optional): Its images.
        seg_dir (str, optional): Its PNGs (panoptic json only).
        device (str): Device.
        max_images (int, optional): Only the first images.
        embedding_noise (float): Embedding methods (PanoNet): standard
            deviation of the noise added to the perfect embeddings (one
            point per instance).

    Returns:
        dict: ``PQ``, ``segm_AP``, ``mIoU`` (in [0, 1]; None when not
        evaluated), ``decode_ms_per_image`` and ``metrics``.
    """
    with tempfile.TemporaryDirectory() as work_dir:
        if ann_file is not None:
            dataset_cfg, metrics = given_set(cfg, ann_file, img_dir, seg_dir,
                                             work_dir)
        else:
            dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
            metrics = cfg.test_evaluator
            metrics = list(metrics) if isinstance(metrics,
                                                  (list, tuple)) else [metrics]
        dataset = DATASETS.build(dataset_cfg)
        model = MODELS.build(cfg.model).to(device).eval()
        evaluator = Evaluator(metrics)
        evaluator.dataset_meta = dataset.metainfo
        target_cfg = training_target_cfg(cfg.model)
        n = len(dataset) if max_images is None else min(max_images,
                                                        len(dataset))
        spent = 0.
        for i in range(n):
            data = dataset[i]
            sample = data['data_samples']
            input_hw = tuple(int(v) for v in data['inputs'].shape[-2:])
            if isinstance(model.head, PanoNetHead):
                maps = perfect_panonet_maps(model.head, sample, input_hw,
                                            embedding_noise, device, seed=i)
            else:
                maps = perfect_panoptic_maps(model.head, sample, input_hw,
                                             target_cfg, device)
            start = time.perf_counter()
            with torch.no_grad():
                results = model.head.decode(maps, [sample])
            spent += time.perf_counter() - start
            model.add_pred_to_datasample([sample], results)
            evaluator.process(data_samples=[sample], data_batch=None)
        scores = evaluator.evaluate(n)
    headline = headline_metrics(scores)
    return dict(PQ=headline['PQ'], segm_AP=headline['segm_AP'],
                mIoU=headline['mIoU'],
                decode_ms_per_image=round(1000. * spent / max(n, 1), 2),
                metrics=scores)
