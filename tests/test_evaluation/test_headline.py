"""The headline numbers of evaluation results, whatever the prefix."""
import pytest

from personlab_mm.evaluation import headline_metrics

NONE = dict(keypoints_AP=None, segm_AP=None, PQ=None, mIoU=None)


def test_coco_and_crowdpose_prefixes():
    coco = {'coco/AP': 0.5, 'coco/AP .5': 0.8, 'coco/segm_mAP': 0.3}
    assert headline_metrics(coco) == dict(NONE, keypoints_AP=0.5,
                                          segm_AP=0.3)
    crowd = {'crowdpose/AP': 0.4, 'crowdpose/AP(E)': 0.6}
    assert headline_metrics(crowd) == dict(NONE, keypoints_AP=0.4)
    assert headline_metrics({}) == NONE


def test_mmdetection_panoptic_metrics_in_percent_become_fractions():
    metrics = {'coco_panoptic/PQ': 61.5, 'coco_panoptic/PQ_th': 50.,
               'coco/segm_mAP': 0.25, 'coco/bbox_mAP': 0.1, 'mIoU': 80.}
    got = headline_metrics(metrics)
    assert got['PQ'] == pytest.approx(0.615)
    assert got['mIoU'] == pytest.approx(0.8)
    assert got['segm_AP'] == 0.25 and got['keypoints_AP'] is None
