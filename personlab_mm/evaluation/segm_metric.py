"""MMDetection's COCO segmentation metric for MMPose-style predictions."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmdet.evaluation.metrics import CocoMetric as DetCocoMetric
from mmdet.structures.mask import encode_mask_results
from mmpose.registry import METRICS


@METRICS.register_module()
class PersonSegmMetric(DetCocoMetric):
    """COCO person instance-segmentation AP (mmdet's ``CocoMetric``,
    ``metric='segm'``) usable in an MMPose evaluator beside MMPose's
    keypoint ``CocoMetric``.

    It bridges what the two toolboxes expect: MMPose datasets carry no
    ``classes`` in their metainfo (``('person',)`` is supplied) and MMPose
    predictions are numpy arrays (converted here); masks must be at the
    original image size. The instance score is ``pred_instances.scores``.
    Without ``ann_file`` the ground truth is taken from each sample's
    ``raw_ann_info`` (boxes' area then stands in for the mask area, as in
    mmdet's own conversion).

    Args:
        ann_file (str, optional): COCO annotation file.
        metric (str | list): Defaults to ``'segm'``.
        classes (Sequence[str]): Category names. Defaults to
            ``('person',)``.
        **kwargs: Other ``mmdet.evaluation.CocoMetric`` arguments, e.g.
            ``proposal_nums`` or ``outfile_prefix``.
    """

    def __init__(self,
                 ann_file: Optional[str] = None,
                 metric='segm',
                 classes: Sequence[str] = ('person', ),
                 **kwargs) -> None:
        super().__init__(ann_file=ann_file, metric=metric, **kwargs)
        self._classes = tuple(classes)

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        meta = dict(dataset_meta or {})
        meta.setdefault('classes', self._classes)
        self._dataset_meta = meta

    @staticmethod
    def _as_tensor(value) -> torch.Tensor:
        return value if isinstance(value, torch.Tensor) else torch.as_tensor(
            np.asarray(value))

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        converted = []
        for sample in data_samples:
            pred = sample['pred_instances']
            new_pred = dict(
                bboxes=self._as_tensor(pred['bboxes']).reshape(-1, 4),
                scores=self._as_tensor(pred['scores']).reshape(-1),
                labels=self._as_tensor(pred['labels']).reshape(-1))
            if 'masks' in pred:
                masks = pred['masks']
                if isinstance(masks, torch.Tensor):
                    masks = masks.detach().cpu().numpy()
                new_pred['masks'] = encode_mask_results(
                    np.asarray(masks, dtype=bool))
            new_sample = dict(sample, pred_instances=new_pred)
            if self._coco_api is None and 'instances' not in sample:
                new_sample['instances'] = self._instances_from_raw(sample)
            converted.append(new_sample)
        super().process(data_batch, converted)

    def compute_metrics(self, results: list) -> dict:
        """mmdet's metrics; with no predicted person at all (mmdet then
        reports nothing) every AP is 0, so the key is always there."""
        metrics = super().compute_metrics(results)
        if not self.format_only:
            for metric in self.metrics:
                for suffix in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m',
                               'mAP_l'):
                    metrics.setdefault(f'{metric}_{suffix}', 0.)
        return metrics

    @staticmethod
    def _instances_from_raw(sample: dict) -> list:
        """mmdet-style ground-truth instances from ``raw_ann_info``."""
        anns = sample.get('raw_ann_info') or []
        if isinstance(anns, dict):
            anns = [anns]
        instances = []
        for ann in anns:
            x, y, w, h = ann['bbox']
            instances.append(
                dict(
                    bbox=[x, y, x + w, y + h],
                    bbox_label=0,
                    ignore_flag=int(ann.get('iscrowd', 0)),
                    mask=ann.get('segmentation')))
        return instances
