"""Test-time augmentation on PersonLab maps: flip-back and scale fusion.

The functions take and return *batched* :class:`PersonLabMaps` (a leading
batch dimension on every tensor): probabilities for heatmaps and
segmentation, offsets in input pixels.
"""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ...decoding import PersonLabMaps


def unbatch(maps: PersonLabMaps) -> List[PersonLabMaps]:
    """Split batched maps into one :class:`PersonLabMaps` per image."""
    B = maps.heatmaps.shape[0]
    return [
        PersonLabMaps(*(t[i] for t in maps[:5]), stride=maps.stride)
        for i in range(B)
    ]


def batch(maps: Sequence[PersonLabMaps]) -> PersonLabMaps:
    """Stack per-image maps (same grid) into batched maps; the inverse of
    :func:`unbatch`."""
    return PersonLabMaps(*(torch.stack([m[i] for m in maps])
                           for i in range(5)), stride=maps[0].stride)


def average(maps: Sequence[PersonLabMaps],
            edge_sources: Sequence[int]) -> PersonLabMaps:
    """Fuse maps on the same grid.

    Probabilities are averaged. Offsets are averaged weighted by the
    probability that they are meaningful there: short-range offsets of
    keypoint ``k`` by heatmap ``k``, mid-range offsets of edge ``(k, l)`` by
    heatmap ``k``, long-range offsets by the segmentation. A plain mean
    would blend an offset with the zeros a map predicts outside its disks
    (e.g. a smaller disk at another scale) and send votes half-way.

    Args:
        maps (Sequence[PersonLabMaps]): Batched maps, same grid.
        edge_sources (Sequence[int]): Source keypoint of each directed
            edge.

    Returns:
        PersonLabMaps: batched fused maps.
    """
    if len(maps) == 1:
        return maps[0]
    n = float(len(maps))
    src = torch.as_tensor(edge_sources, device=maps[0].heatmaps.device)

    def weighted(values, weights):
        total = sum(weights)
        num = sum(v * w for v, w in zip(values, weights))
        plain = sum(values) / n
        ok = total > 1e-6
        return torch.where(ok, num / total.clamp(min=1e-6), plain)

    heat_w = [m.heatmaps[:, :, None] for m in maps]  # (B, K, 1, H, W)
    return PersonLabMaps(
        heatmaps=sum(m.heatmaps for m in maps) / n,
        short_offsets=weighted([m.short_offsets for m in maps], heat_w),
        mid_offsets=weighted([m.mid_offsets for m in maps],
                             [w[:, src] for w in heat_w]),
        long_offsets=weighted([m.long_offsets for m in maps],
                              [m.segmentation[:, None, None] for m in maps]),
        segmentation=sum(m.segmentation for m in maps) / n,
        stride=maps[0].stride)


def _resample_x_y(t: Tensor, gx: Tensor, gy: Tensor) -> Tensor:
    """Bilinearly resample (B, C, H, W) at separable grid positions.

    Args:
        t (Tensor): (B, C, H, W) source maps.
        gx (Tensor): (W',) source x positions (cells) of the output columns.
        gy (Tensor): (H',) source y positions (cells) of the output rows.

    Returns:
        Tensor: (B, C, H', W'); positions outside the source read zeros.
    """
    B, C, H, W = t.shape
    nx = gx * (2. / max(W - 1, 1)) - 1.
    ny = gy * (2. / max(H - 1, 1)) - 1.
    grid = torch.stack(torch.meshgrid(ny, nx, indexing='ij')[::-1], dim=-1)
    grid = grid[None].expand(B, -1, -1, -1).to(t.dtype)
    return F.grid_sample(
        t, grid, mode='bilinear', padding_mode='zeros', align_corners=True)


def _map_fields(maps: PersonLabMaps, gx: Tensor, gy: Tensor,
                scale_x: float, scale_y: float) -> PersonLabMaps:
    """Resample every field at (gx, gy) and multiply offsets by scale."""
    B = maps.heatmaps.shape[0]
    out = []
    for i, t in enumerate(maps[:5]):
        shape = t.shape
        flat = t.reshape(B, -1, *shape[-2:]) if t.dim() > 3 else t[:, None]
        r = _resample_x_y(flat, gx, gy)
        if i in (1, 2, 3):  # offsets (B, C, 2, H, W)
            r = r.view(B, shape[1], 2, *r.shape[-2:])
            r = torch.stack([r[:, :, 0] * scale_x, r[:, :, 1] * scale_y], 2)
        elif t.dim() == 3:
            r = r[:, 0]
        out.append(r)
    return PersonLabMaps(*out, stride=maps.stride)


def flip_back(maps: PersonLabMaps, input_width: int,
              flip_indices: Sequence[int],
              flip_edge_indices: Sequence[int]) -> PersonLabMaps:
    """Maps of a horizontally flipped input, brought back to the original.

    The input was flipped as ``x' = input_width - 1 - x``; every field is
    mirrored accordingly (resampled if the grid is not symmetric), left and
    right keypoints and directed edges are swapped and x offsets negated.

    Args:
        maps (PersonLabMaps): Batched maps of the flipped input.
        input_width (int): Width of the (padded) input tensor.
        flip_indices (Sequence[int]): Mirror of each keypoint.
        flip_edge_indices (Sequence[int]): Mirror of each directed edge.

    Returns:
        PersonLabMaps: batched maps in the original frame.
    """
    H, W = maps.heatmaps.shape[-2:]
    dev = maps.heatmaps.device
    s = float(maps.stride)
    gx = (input_width - 1) / s - torch.arange(W, device=dev,
                                              dtype=torch.float32)
    gy = torch.arange(H, device=dev, dtype=torch.float32)
    m = _map_fields(maps, gx, gy, -1., 1.)
    kp = torch.as_tensor(flip_indices, device=dev)
    ed = torch.as_tensor(flip_edge_indices, device=dev)
    return PersonLabMaps(m.heatmaps[:, kp], m.short_offsets[:, kp],
                         m.mid_offsets[:, ed], m.long_offsets[:, kp],
                         m.segmentation, stride=maps.stride)


def rescale_to(maps: PersonLabMaps, src_input_hw, dst_input_hw,
               dst_grid_hw) -> PersonLabMaps:
    """Maps computed on an input resized from ``dst_input_hw`` to
    ``src_input_hw`` (corner-aligned, ``align_corners=True``), brought onto
    the grid of the ``dst`` input.

    Args:
        maps (PersonLabMaps): Batched maps of the resized input.
        src_input_hw (tuple): ``(h, w)`` of the resized input.
        dst_input_hw (tuple): ``(h, w)`` of the reference input.
        dst_grid_hw (tuple): ``(H, W)`` of the reference grid (same stride).

    Returns:
        PersonLabMaps: batched maps on the reference grid, offsets in
        reference input pixels.
    """
    fy = (src_input_hw[0] - 1) / max(dst_input_hw[0] - 1, 1)
    fx = (src_input_hw[1] - 1) / max(dst_input_hw[1] - 1, 1)
    dev = maps.heatmaps.device
    gx = torch.arange(dst_grid_hw[1], device=dev, dtype=torch.float32) * fx
    gy = torch.arange(dst_grid_hw[0], device=dev, dtype=torch.float32) * fy
    return _map_fields(maps, gx, gy, 1. / fx, 1. / fy)
