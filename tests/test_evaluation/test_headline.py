"""The headline numbers of evaluation results, whatever the prefix."""
from personlab_mm.evaluation import headline_metrics


def test_coco_and_crowdpose_prefixes():
    coco = {'coco/AP': 0.5, 'coco/AP .5': 0.8, 'coco/segm_mAP': 0.3}
    assert headline_metrics(coco) == dict(keypoints_AP=0.5, segm_AP=0.3)
    crowd = {'crowdpose/AP': 0.4, 'crowdpose/AP(E)': 0.6}
    assert headline_metrics(crowd) == dict(keypoints_AP=0.4, segm_AP=None)
    assert headline_metrics({}) == dict(keypoints_AP=None, segm_AP=None)
