"""Test-time augmentation on :class:`~personlab_mm.structures.DenseMaps`:
flip-back, rescaling and fusion, by each field's kind (any method's maps:
keypoint heatmaps, offsets, segmentation, semantic logits, centres,
embeddings).

All functions take and return batched maps. Geometry follows
:mod:`personlab_mm.functional.grid`; inputs of a scale pyramid are resized
corner-aligned (``align_corners=True``).
"""
import math
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ...functional import resample_separable
from ...structures import DenseMaps, FieldSpec


def pyramid_sizes(input_hw: Tuple[int, int], longest_sides: Sequence[int],
                  stride: int) -> List[Tuple[int, int]]:
    """Input sizes ``(h, w)`` of a test pyramid: the input's own size
    first, then each longest side (corner-aligned resize by ``(side - 1) /
    (longest - 1)``, each side ``n * stride + 1``), duplicates dropped."""
    h, w = input_hw
    sizes = [(h, w)]
    longest = max(h, w)
    for side in longest_sides or []:
        f = (side - 1) / max(longest - 1, 1)
        size = tuple(
            int(math.ceil((n - 1) * f / stride)) * stride + 1
            for n in (h, w))
        if size not in sizes:
            sizes.append(size)
    return sizes


def _resample(t: Tensor, spec: FieldSpec, gx: Tensor, gy: Tensor,
              scale_x: float, scale_y: float) -> Tensor:
    """One field at source positions ``(gx, gy)``; offsets multiplied by
    ``scale`` (x and y)."""
    if spec.kind != 'offset':
        return resample_separable(t, gx, gy)
    B, C = t.shape[:2]
    r = resample_separable(t.reshape(B, 2 * C, *t.shape[-2:]), gx, gy)
    r = r.view(B, C, 2, *r.shape[-2:])
    return torch.stack([r[:, :, 0] * scale_x, r[:, :, 1] * scale_y], 2)


def flip_back(maps: DenseMaps, input_width: int) -> DenseMaps:
    """Maps of a horizontally flipped input, brought back to the original.

    The input was flipped as ``x' = input_width - 1 - x``; every field is
    mirrored accordingly (resampled if the grid is not symmetric), its
    channels permuted by ``flip_channels`` (left and right keypoints,
    mirrored edges) and, for offsets, x negated.

    Raises:
        ValueError: if a field cannot be flipped (``flip_channels=()``).
    """
    H, W = maps.grid_hw
    device = maps.device
    gx = (input_width - 1) / maps.stride - torch.arange(
        W, device=device, dtype=torch.float32)
    gy = torch.arange(H, device=device, dtype=torch.float32)

    def back(name: str, t: Tensor, spec: FieldSpec) -> Tensor:
        if spec.flip_channels == ():
            raise ValueError(f'field {name!r} cannot be flipped (its '
                             'channels have no left/right mirror, e.g. an '
                             'asymmetric kinematic tree)')
        r = _resample(t, spec, gx, gy, -1., 1.)
        if spec.flip_channels is not None:
            r = r[:, torch.as_tensor(spec.flip_channels, device=device)]
        return r

    return maps.map(back)


def rescale_to(maps: DenseMaps, src_input_hw: Tuple[int, int],
               dst_input_hw: Tuple[int, int],
               dst_grid_hw: Tuple[int, int]) -> DenseMaps:
    """Maps computed on an input resized from ``dst_input_hw`` to
    ``src_input_hw`` (corner-aligned), brought onto the grid of the ``dst``
    input (same stride); offsets in ``dst`` input pixels.

    Args:
        maps (DenseMaps): Batched maps of the resized input.
        src_input_hw (tuple): ``(h, w)`` of the resized input.
        dst_input_hw (tuple): ``(h, w)`` of the reference input.
        dst_grid_hw (tuple): ``(H, W)`` of the reference grid.
    """
    fy = (src_input_hw[0] - 1) / max(dst_input_hw[0] - 1, 1)
    fx = (src_input_hw[1] - 1) / max(dst_input_hw[1] - 1, 1)
    device = maps.device
    gx = torch.arange(dst_grid_hw[1], device=device, dtype=torch.float32) * fx
    gy = torch.arange(dst_grid_hw[0], device=device, dtype=torch.float32) * fy
    return maps.map(
        lambda _, t, spec: _resample(t, spec, gx, gy, 1. / fx, 1. / fy))


def average(maps: Sequence[DenseMaps]) -> DenseMaps:
    """Fuse maps on the same grid, by kind.

    Probabilities and logits are averaged. Offsets are averaged weighted by
    the probability that they are meaningful there (``FieldSpec.weight``:
    e.g. short-range offsets of keypoint ``k`` by heatmap ``k``): a plain
    mean would blend an offset with the zeros a map predicts where it has
    nothing to say (a smaller disk at another scale) and send votes
    half-way. Embeddings are not averaged: the first maps' are kept.
    """
    if len(maps) == 1:
        return maps[0]
    n = float(len(maps))
    first = maps[0]

    def weight_of(m: DenseMaps, spec: FieldSpec) -> Tensor:
        w = m[spec.weight]
        if spec.weight_channels is not None:
            w = w[:, torch.as_tensor(spec.weight_channels, device=w.device)]
        return w[:, :, None]  # (B, C or 1, 1, H, W)

    def fuse(name: str, _: Tensor, spec: FieldSpec) -> Tensor:
        values = [m[name] for m in maps]
        if spec.kind == 'embedding':
            return values[0]
        plain = sum(values) / n
        if spec.kind != 'offset' or spec.weight is None:
            return plain
        weights = [weight_of(m, spec) for m in maps]
        total = sum(weights)
        num = sum(v * w for v, w in zip(values, weights))
        return torch.where(total > 1e-6, num / total.clamp(min=1e-6), plain)

    return first.map(fuse)


def fuse_test_time_maps(predict_maps: Callable[..., DenseMaps], feats,
                        input_hw: Tuple[int, int], flip: bool,
                        longest_sides: Optional[Sequence[int]],
                        stride: int) -> DenseMaps:
    """Maps of every test scale and flip, fused on the grid of the input.

    Args:
        predict_maps (Callable): Features of one input -> its maps.
        feats: MMPose's nesting: with ``flip``, ``[feats,
            feats_of_the_flipped_input]``; with ``longest_sides``, one such
            entry per input of :func:`pyramid_sizes`.
        input_hw (Tuple[int, int]): The input's own size ``(h, w)``.
        flip (bool): Flip test.
        longest_sides (Sequence[int], optional): The pyramid's other
            inputs.
        stride (int): Output stride.
    """
    sizes = pyramid_sizes(input_hw, longest_sides, stride)
    per_scale = feats if longest_sides else [feats]
    if len(per_scale) != len(sizes):
        raise ValueError(f'{len(per_scale)} scales of features for the '
                         f'{len(sizes)} inputs {sizes}')
    fused = []
    for scale_feats, size in zip(per_scale, sizes):
        maps = [predict_maps(scale_feats[0] if flip else scale_feats)]
        if flip:
            maps.append(flip_back(predict_maps(scale_feats[1]), size[1]))
        maps = average(maps)
        if fused:
            maps = rescale_to(maps, size, input_hw, fused[0].grid_hw)
        fused.append(maps)
    return average(fused)


def scaled_input_size(input_hw: Tuple[int, int],
                      scale: float) -> Tuple[int, int]:
    """``(h, w)`` of an input resized corner-aligned by ``scale``
    (``(n - 1) * scale + 1`` per side, rounded)."""
    return tuple(max(int(round((n - 1) * scale)) + 1, 1) for n in input_hw)


def fuse_scaled_inputs(predict_maps: Callable[[Tensor], DenseMaps],
                       inputs: Tensor, scales: Sequence[float], flip: bool,
                       stride: int) -> DenseMaps:
    """Maps of a batch at several input scales, with and without a
    horizontal flip, fused on the grid of the input (the segmentation
    side's test-time augmentation: the inputs are resized here, not in the
    data pipeline).

    Args:
        predict_maps (Callable): (B, 3, h, w) inputs -> their maps.
        inputs (Tensor): (B, 3, H, W) batch inputs.
        scales (Sequence[float]): Input scales (1.0: the input itself).
        flip (bool): Also predict the flipped input of every scale.
        stride (int): Output stride of the maps.

    Returns:
        DenseMaps: fused, on the grid of ``inputs``
        (``ceil(H / stride) x ceil(W / stride)``).
    """
    input_hw = tuple(inputs.shape[-2:])
    grid_hw = tuple(int(math.ceil(n / stride)) for n in input_hw)
    fused = []
    for scale in scales:
        size = scaled_input_size(input_hw, scale)
        x = inputs if size == input_hw else torch.nn.functional.interpolate(
            inputs, size=size, mode='bilinear', align_corners=True)
        maps = [predict_maps(x)]
        if flip:
            maps.append(flip_back(predict_maps(x.flip(-1)), size[1]))
        maps = average(maps)
        if size != input_hw or maps.grid_hw != grid_hw:
            maps = rescale_to(maps, size, input_hw, grid_hw)
        fused.append(maps)
    return average(fused)
