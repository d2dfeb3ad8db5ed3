"""Perfect PanoNet outputs from panoptic ground truth: semantic logits as
for Panoptic-DeepLab's upper bound and an embedding with one point per
instance (plus noise of a chosen size), at the cells of the test output
grid."""
import math
from typing import Tuple

import torch

from ..models.heads.panonet_head import PANONET_FIELDS, PanoNetHead
from ..models.utils.panoptic_targets import mask_owner, sample_ground_truth
from ..structures import DenseMaps
from .perfect_panoptic import (CONFIDENT_LOGIT, cells_in_image,
                               class_fractions, nearest_defined)


def instance_points(num: int, dims: int, radius: float,
                    generator: torch.Generator) -> torch.Tensor:
    """``num`` random points on the sphere of ``radius`` in ``dims``
    dimensions (the discriminative loss keeps cluster means within
    ``delta_r`` of the origin and at least ``2 delta_d`` apart; random
    points on a sphere of radius 6 in 12-D are typically ~8.5 apart).

    Returns:
        Tensor: (num, dims) float.
    """
    points = torch.randn(num, dims, generator=generator)
    return radius * points / points.norm(dim=1, keepdim=True).clamp(1e-12)


def perfect_panonet_maps(head: PanoNetHead,
                         sample,
                         input_hw: Tuple[int, int],
                         noise: float = 0.,
                         device: str = 'cpu',
                         void_class: int = None,
                         radius: float = 6.,
                         seed: int = 0) -> DenseMaps:
    """The maps a perfect PanoNet gives for one test image.

    Every non-crowd thing segment (and every crowd segment, so crowds are
    not merged into people) gets its own random point
    (:func:`instance_points`); every other pixel takes the point of its
    nearest segment pixel (the loss leaves it free; this keeps bilinear
    upsampling at a segment's border from blending in foreign values);
    Gaussian noise of standard deviation ``noise`` per dimension is added
    at each output cell. Semantic logits are the tent-filtered class
    fractions of Panoptic-DeepLab's upper bound (void pixels: the first
    stuff class). Targets are built at the original image size and read at
    the image pixel under each output cell.

    Args:
        head (PanoNetHead): Gives the stride, classes and dimensions.
        sample (DetDataSample): With ``gt_sem_seg``, ``gt_instances`` (and
            ``ignored_instances``) at ``ori_shape``; ``scale_factor`` of the
            test resize.
        input_hw (tuple): ``(h, w)`` of the test input.
        noise (float): Embedding noise (standard deviation per dimension).
        device (str): Device.
        void_class (int, optional): Class predicted on void pixels.
        radius (float): Norm of the instance points.
        seed (int): Seed of the points and the noise.

    Returns:
        DenseMaps: batch of one on the output grid.
    """
    ori_hw = tuple(sample.metainfo['ori_shape'][:2])
    semantic, things, crowds = sample_ground_truth(sample, ori_hw, device,
                                                   head.ignore_index)
    owner = mask_owner(torch.cat([things, crowds]))
    stride = head.stride
    grid_hw = tuple(math.ceil(n / stride) for n in input_hw)
    sx, sy = sample.metainfo.get('scale_factor', (1., 1.))
    rows = cells_in_image(grid_hw[0], stride, sy, ori_hw[0]).to(device)
    cols = cells_in_image(grid_hw[1], stride, sx, ori_hw[1]).to(device)
    num_things = head.decoder.num_things
    num_classes = head.num_classes
    if void_class is None and num_things < num_classes:
        void_class = num_things
    probs = class_fractions(semantic, num_classes, void_class,
                            stride / min(sx, sy), head.ignore_index)
    generator = torch.Generator().manual_seed(seed)
    D = head.embedding_dims
    points = instance_points(max(int(owner.max()), 1), D, radius,
                             generator).to(device)
    if bool((owner > 0).any()):
        iy, ix = nearest_defined(owner > 0)
        nearest = owner[iy, ix]
    else:
        nearest = torch.ones_like(owner)
    cell_owner = nearest[rows[:, None], cols[None, :]]  # (H, W)
    embedding = points[cell_owner - 1].permute(2, 0, 1)  # (D, H, W)
    if noise > 0:
        embedding = embedding + noise * torch.randn(
            embedding.shape, generator=generator).to(device)
    logits = probs[:, rows[:, None], cols[None, :]] * CONFIDENT_LOGIT
    return DenseMaps(dict(semantic=logits[None], embedding=embedding[None]),
                     PANONET_FIELDS, stride)
