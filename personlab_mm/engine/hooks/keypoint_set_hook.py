"""Stop a run whose model and dataset disagree on the keypoint set."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS


def model_keypoints(model) -> Optional[object]:
    """The :class:`~personlab_mm.structures.KeypointSet` the model's head
    predicts (None for heads without one)."""
    if is_model_wrapper(model):
        model = model.module
    head = getattr(model, 'head', None)
    return getattr(head, 'keypoints', None)


def check_keypoint_set(model, dataset, what: str) -> None:
    """Raise when ``dataset`` has another number of keypoints than the
    model predicts.

    Args:
        model: The (possibly wrapped) pose estimator.
        dataset: A dataset with MMPose ``metainfo``.
        what (str): The dataloader's name, for the message.

    Raises:
        ValueError: naming both keypoint sets and the config keys to
            change.
    """
    keypoints = model_keypoints(model)
    meta = getattr(dataset, 'metainfo', None) or {}
    K = meta.get('num_keypoints')
    if keypoints is None or K is None or int(K) == keypoints.num_keypoints:
        return
    raise ValueError(
        f"{what}: the dataset ({meta.get('dataset_name')!r}, "
        f'{getattr(dataset, "ann_file", "")}) has {K} keypoints per person '
        f'but the model head predicts {keypoints.num_keypoints} '
        f'({keypoints.dataset_name or "its codec"}\'s keypoint set): give '
        "the codec (model.head.decoder and the GeneratePersonLabTargets "
        "encoder) the dataset's metainfo, e.g. "
        "metainfo=dict(from_file='configs/_base_/datasets/crowdpose.py')")


@HOOKS.register_module()
class KeypointSetCheckHook(Hook):
    """Check, before training, validation and testing start, that each
    dataset has as many keypoints as the model's head predicts: a COCO
    head on CrowdPose data would otherwise fail deep in target generation
    or, at test time, in the metric's numpy code."""

    def before_train(self, runner) -> None:
        check_keypoint_set(runner.model, runner.train_dataloader.dataset,
                           'train_dataloader')

    def before_val(self, runner) -> None:
        check_keypoint_set(runner.model, runner.val_dataloader.dataset,
                           'val_dataloader')

    def before_test(self, runner) -> None:
        check_keypoint_set(runner.model, runner.test_dataloader.dataset,
                           'test_dataloader')
