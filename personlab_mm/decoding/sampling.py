"""Point sampling of dense maps on the output grid.

Grid cell ``(i, j)`` of a map with stride ``s`` sits at input pixel
``(j * s, i * s)``; positions are given in input pixels.
"""
from typing import Tuple

import torch
from torch import Tensor


def bilinear_corners(xy: Tensor, stride: float, height: int,
                     width: int) -> Tuple[Tensor, Tensor]:
    """The four grid neighbours of each point and their bilinear weights.

    Out-of-grid neighbours get weight 0 (like ``grid_sample`` with zeros
    padding), as do all four neighbours of a non-finite position.

    Args:
        xy (Tensor): (N, 2) positions in input pixels.
        stride (float): Grid stride in input pixels.
        height (int): Grid height H. width (int): Grid width W.

    Returns:
        tuple: flat cell indices (N, 4) long and weights (N, 4).
    """
    H, W = height, width
    g = xy / stride
    finite = torch.isfinite(g).all(dim=1, keepdim=True)
    # anything further out than one cell samples only zeros anyway
    g = torch.nan_to_num(g, nan=-2.)
    gx = g[:, 0:1].clamp(-2., W + 1.)
    gy = g[:, 1:2].clamp(-2., H + 1.)
    x0, y0 = gx.floor(), gy.floor()
    fx, fy = gx - x0, gy - y0
    # the four neighbours at once: (N, 4); corner c = (c % 2, c // 2)
    corner = torch.arange(4, device=xy.device)
    xi = x0.long() + corner % 2
    yi = y0.long() + corner // 2
    wx = torch.cat([1 - fx, fx, 1 - fx, fx], dim=1)
    wy = torch.cat([1 - fy, 1 - fy, fy, fy], dim=1)
    valid = (xi >= 0) & (xi < W) & (yi >= 0) & (yi < H) & finite
    idx = yi.clamp(0, H - 1) * W + xi.clamp(0, W - 1)
    return idx, wx * wy * valid


def gather_corners(field: Tensor, channel: Tensor, idx: Tensor,
                   weights: Tensor) -> Tensor:
    """Bilinear samples of one channel of ``field`` per point.

    Args:
        field (Tensor): (C, D, H, W) maps.
        channel (Tensor): (N,) long, the channel read for each point.
        idx (Tensor): (N, 4) flat cell indices from :func:`bilinear_corners`.
        weights (Tensor): (N, 4) their weights.

    Returns:
        Tensor: (N, D).
    """
    C, D, H, W = field.shape
    # one flat gather: element (c, d, cell) of the contiguous field
    lin = (channel[:, None] * (D * H * W) + idx)[..., None] + torch.arange(
        D, device=idx.device) * (H * W)  # (N, 4, D)
    vals = field.contiguous().view(-1)[lin]
    return (vals * weights.to(vals.dtype)[..., None]).sum(dim=1)


def bilinear_gather(field: Tensor, channel: Tensor, xy: Tensor,
                    stride: float) -> Tensor:
    """Bilinearly sample one channel of ``field`` per point.

    Out-of-grid neighbours count as zero (like ``grid_sample`` with zeros
    padding); non-finite positions sample zeros.

    Args:
        field (Tensor): (C, D, H, W) maps, D values per channel (e.g. D=2
            for an offset field, D=1 for a heatmap).
        channel (Tensor): (N,) long, the channel sampled for each point.
        xy (Tensor): (N, 2) positions in input pixels.
        stride (float): Grid stride in input pixels.

    Returns:
        Tensor: (N, D) sampled values.
    """
    if xy.shape[0] == 0:
        return field.new_zeros((0, field.shape[1]))
    idx, weights = bilinear_corners(
        xy.to(field.dtype), stride, *field.shape[-2:])
    return gather_corners(field, channel, idx, weights)
