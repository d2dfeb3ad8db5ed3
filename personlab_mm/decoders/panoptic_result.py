"""The result every bottom-up panoptic decoder returns (Panoptic-DeepLab,
PanoNet), assembled from an instance id map by one shared step."""
from typing import NamedTuple

import torch
from torch import Tensor

from ..functional.panoptic import instance_boxes, panoptic_ids


class PanopticResult(NamedTuple):
    """One image's panoptic, semantic and instance segmentation.

    Attributes:
        panoptic (Tensor): (h, w) long ids: ``label + instance *
            instance_offset`` for things (instances numbered from 1),
            ``label`` for stuff, ``num_classes`` for void (MMDetection's
            convention).
        semantic (Tensor): (h, w) long argmax class.
        masks (Tensor): (K, h, w) bool thing instances (non-empty).
        labels (Tensor): (K,) long. scores (Tensor): (K,) float.
        boxes (Tensor): (K, 4) float xyxy (exclusive right/bottom).
    """
    panoptic: Tensor
    semantic: Tensor
    masks: Tensor
    labels: Tensor
    scores: Tensor
    boxes: Tensor


def assemble_result(semantic: Tensor, instance_ids: Tensor, labels: Tensor,
                    scores: Tensor, areas: Tensor, num_things: int,
                    num_classes: int, stuff_area: int,
                    instance_offset: int) -> PanopticResult:
    """The panoptic id map (:func:`~personlab_mm.functional.panoptic.
    panoptic_ids`, void = ``num_classes``), masks and boxes of the
    instances that got pixels.

    Args:
        semantic (Tensor): (h, w) long class per pixel (things first).
        instance_ids (Tensor): (h, w) long, 0 = none, ``k + 1`` = instance
            ``k``.
        labels (Tensor): (K,) long class of each instance.
        scores (Tensor): (K,) float confidence of each instance.
        areas (Tensor): (K,) long pixels of each instance (0: dropped).
        num_things (int): Thing classes (labels ``[0, num_things)``).
        num_classes (int): All classes (the void label).
        stuff_area (int): Smallest stuff segment kept (pixels).
        instance_offset (int): MMDetection's ``INSTANCE_OFFSET``.

    Returns:
        PanopticResult: instances with ``areas > 0``, in their order.
    """
    is_thing = torch.arange(num_classes, device=semantic.device) < num_things
    panoptic = panoptic_ids(semantic, instance_ids, labels, is_thing,
                            stuff_area, num_classes, instance_offset)
    kept = (areas > 0).nonzero().squeeze(1)
    masks = instance_ids[None] == (kept + 1)[:, None, None]
    boxes = instance_boxes(instance_ids, labels.shape[0])[kept]
    return PanopticResult(panoptic, semantic, masks, labels[kept],
                          scores[kept], boxes)
