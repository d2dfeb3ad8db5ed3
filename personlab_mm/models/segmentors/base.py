"""What the bottom-up panoptic segmentors share: MMDetection's detector
interface and the packing of a :class:`~personlab_mm.decoders.
panoptic_result.PanopticResult` into data samples."""
from typing import List

from mmdet.models.detectors.base import BaseDetector
from mmdet.structures import SampleList
from mmengine.structures import InstanceData, PixelData

from ...decoders.panoptic_result import PanopticResult


class BottomUpPanopticSegmentor(BaseDetector):
    """Base of the segmentors whose post-processing returns
    :class:`PanopticResult`: per image (at the original size with
    ``rescale=True``) ``pred_panoptic_seg.sem_seg`` (1, h, w) ids ``label +
    instance * INSTANCE_OFFSET`` (void: the number of classes),
    ``pred_sem_seg.sem_seg`` (1, h, w) classes and ``pred_instances``
    (``masks`` (K, h, w) bool, ``labels``, ``scores``, ``bboxes`` xyxy), so
    MMDetection's ``CocoPanopticMetric``, ``CocoMetric(metric='segm')`` and
    ``SemSegMetric`` all read the same results."""

    def add_pred_to_datasample(self, data_samples: SampleList,
                               results_list: List[PanopticResult]
                               ) -> SampleList:
        """``pred_panoptic_seg``, ``pred_sem_seg`` and ``pred_instances``
        of each image."""
        for sample, result in zip(data_samples, results_list):
            sample.pred_panoptic_seg = PixelData(sem_seg=result.panoptic[None])
            sample.pred_sem_seg = PixelData(sem_seg=result.semantic[None])
            sample.pred_instances = InstanceData(
                masks=result.masks, labels=result.labels,
                scores=result.scores, bboxes=result.boxes)
        return data_samples
