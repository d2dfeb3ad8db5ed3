"""The headline numbers of an evaluation, whatever the metrics' prefixes."""
from typing import Dict, Optional


def headline_metrics(metrics: Dict[str, float]) -> Dict[str, Optional[float]]:
    """Keypoint AP and person segm AP among evaluation results.

    MMPose's ``CocoMetric`` reports ``<prefix>/AP`` (``coco/AP``;
    ``crowdpose/AP`` with ``prefix='crowdpose'``, as MMPose's CrowdPose
    configs set it); :class:`PersonSegmMetric` reports ``coco/segm_mAP``.

    Args:
        metrics (dict): Evaluation results.

    Returns:
        dict: ``keypoints_AP`` and ``segm_AP`` (None when not evaluated).
    """
    keypoint_ap = [v for k, v in metrics.items()
                   if k.endswith('/AP') and k.count('/') == 1]
    segm = [v for k, v in metrics.items() if k.endswith('/segm_mAP')]
    return dict(keypoints_AP=float(keypoint_ap[0]) if keypoint_ap else None,
                segm_AP=float(segm[0]) if segm else None)
