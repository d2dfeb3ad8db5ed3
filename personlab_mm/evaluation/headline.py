"""The headline numbers of an evaluation, whatever the metrics' prefixes."""
from typing import Dict, Optional


def _first(metrics: Dict[str, float], suffix: str,
           scale: float = 1.) -> Optional[float]:
    """The first metric named ``suffix`` or ``<prefix>/suffix``, divided by
    ``scale``."""
    for key, value in metrics.items():
        if key == suffix or (key.endswith('/' + suffix)
                             and key.count('/') == 1):
            return float(value) / scale
    return None


def headline_metrics(metrics: Dict[str, float]) -> Dict[str, Optional[float]]:
    """Keypoint AP, segm AP, PQ and mIoU among evaluation results, all in
    [0, 1].

    MMPose's ``CocoMetric`` reports ``<prefix>/AP`` (``coco/AP``;
    ``crowdpose/AP`` with ``prefix='crowdpose'``, as MMPose's CrowdPose
    configs set it); :class:`PersonSegmMetric` and MMDetection's
    ``CocoMetric(metric='segm')`` report ``coco/segm_mAP``; MMDetection's
    ``CocoPanopticMetric`` reports ``coco_panoptic/PQ`` and its
    ``SemSegMetric`` ``mIoU``, both in percent.

    Args:
        metrics (dict): Evaluation results.

    Returns:
        dict: ``keypoints_AP``, ``segm_AP``, ``PQ`` and ``mIoU`` (None when
        not evaluated).
    """
    return dict(keypoints_AP=_first(metrics, 'AP'),
                segm_AP=_first(metrics, 'segm_mAP'),
                PQ=_first(metrics, 'PQ', 100.),
                mIoU=_first(metrics, 'mIoU', 100.))
