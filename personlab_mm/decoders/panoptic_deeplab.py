"""Panoptic-DeepLab post-processing (paper Sec. 3.2-3.3): centre NMS,
pixel grouping, majority-vote merge and instance scores, composed from
:mod:`personlab_mm.functional`."""
import torch
from torch import Tensor

from ..functional import find_peaks
from ..functional.panoptic import (channel_argmax, instance_scores,
                                   majority_vote, nearest_centres)
from .panoptic_result import PanopticResult, assemble_result


class PanopticDeepLabDecoder:
    """Panoptic, semantic and instance segmentation from the three
    outputs at image resolution.

    Steps: semantic = argmax of the logits; centres = peaks of the centre
    heatmap (max-pool NMS with ``nms_kernel``, value >= ``threshold``, the
    ``top_k`` strongest; one centre per plateau: bilinear upsampling of two
    equal cells makes one, where the reference keeps every cell of it);
    every thing pixel goes to the centre nearest to pixel + offset; an
    instance's class is the majority vote of its pixels' semantic labels;
    stuff classes covering fewer than ``stuff_area`` pixels become void;
    instance score = centre value x mean probability of its class over its
    pixels.

    Args:
        num_things (int): Thing classes (labels ``[0, num_things)``).
        num_classes (int): All classes, things first (MMDetection's order).
        threshold (float): Centre threshold. Defaults to 0.1.
        nms_kernel (int): Odd max-pool kernel. Defaults to 7.
        top_k (int): Centres kept. Defaults to 200.
        stuff_area (int): Smallest stuff segment (pixels). Defaults to 2048
            (the paper's Cityscapes value; 4096 on COCO).
        instance_offset (int): MMDetection's ``INSTANCE_OFFSET``.
    """

    def __init__(self,
                 num_things: int,
                 num_classes: int,
                 threshold: float = 0.1,
                 nms_kernel: int = 7,
                 top_k: int = 200,
                 stuff_area: int = 2048,
                 instance_offset: int = 1000) -> None:
        if not 0 <= num_things <= num_classes:
            raise ValueError(f'num_things={num_things} must be in [0, '
                             f'num_classes={num_classes}]')
        if top_k >= instance_offset:
            raise ValueError(f'top_k={top_k} instances do not fit below '
                             f'instance_offset={instance_offset}')
        self.num_things = num_things
        self.num_classes = num_classes
        self.threshold = threshold
        self.nms_kernel = nms_kernel
        self.top_k = top_k
        self.stuff_area = stuff_area
        self.instance_offset = instance_offset

    def __call__(self, logits: Tensor, centre: Tensor,
                 offsets: Tensor) -> PanopticResult:
        """
        Args:
            logits (Tensor): (C, h, w) semantic logits (finite).
            centre (Tensor): (h, w) centre heatmap (finite).
            offsets (Tensor): (2, h, w) ``(dx, dy)`` to the centre, in
                image pixels (finite).

        Returns:
            PanopticResult: see :class:`~personlab_mm.decoders.
            panoptic_result.PanopticResult`.
        """
        C = logits.shape[0]
        if C != self.num_classes:
            raise ValueError(f'{C} semantic channels for a decoder of '
                             f'{self.num_classes} classes')
        probs = logits.float().softmax(dim=0)
        semantic = channel_argmax(logits)
        is_thing = torch.arange(C, device=logits.device) < self.num_things
        peaks = find_peaks(centre[None].float(), self.threshold, self.top_k,
                           self.nms_kernel, plateaus='first')
        centres = torch.stack([peaks.ix, peaks.iy], dim=1)
        ids = nearest_centres(centres, offsets.float(), is_thing[semantic])
        K = centres.shape[0]
        labels, areas = majority_vote(ids, semantic, K, C)
        scores = instance_scores(peaks.scores, probs, ids, labels, areas)
        return assemble_result(semantic, ids, labels, scores, areas,
                               self.num_things, C, self.stuff_area,
                               self.instance_offset)
