"""KeypointSetCheckHook: a head of K keypoints on a dataset of K' stops the
run before it starts, naming both."""
from types import SimpleNamespace

import pytest
from mmpose.registry import HOOKS
from personlab_testing import coco_keypoints

from personlab_mm.engine.hooks import check_keypoint_set


def _model():
    return SimpleNamespace(head=SimpleNamespace(keypoints=coco_keypoints()))


def _dataset(K, name):
    return SimpleNamespace(metainfo=dict(num_keypoints=K, dataset_name=name),
                           ann_file='ann.json')


def test_matching_sets_pass_and_others_raise():
    check_keypoint_set(_model(), _dataset(17, 'coco'), 'train_dataloader')
    # models without a keypoint head and datasets without metainfo pass
    check_keypoint_set(SimpleNamespace(), _dataset(14, 'x'), 'val')
    with pytest.raises(ValueError,
                       match=r"train_dataloader.*crowdpose.*14 keypoints.*"
                       r'predicts 17.*metainfo'):
        check_keypoint_set(_model(), _dataset(14, 'crowdpose'),
                           'train_dataloader')


def test_hook_checks_every_loop():
    hook = HOOKS.build(dict(type='KeypointSetCheckHook'))
    runner = SimpleNamespace(
        model=_model(),
        train_dataloader=SimpleNamespace(dataset=_dataset(17, 'coco')),
        val_dataloader=SimpleNamespace(dataset=_dataset(17, 'coco')),
        test_dataloader=SimpleNamespace(dataset=_dataset(14, 'crowdpose')))
    hook.before_train(runner)
    hook.before_val(runner)
    with pytest.raises(ValueError, match='test_dataloader'):
        hook.before_test(runner)
