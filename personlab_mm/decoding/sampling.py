"""Point sampling of dense maps on the output grid.

Grid cell ``(i, j)`` of a map with stride ``s`` sits at input pixel
``(j * s, i * s)``; positions are given in input pixels.
"""
import torch
from torch import Tensor


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
    C, D, H, W = field.shape
    N = xy.shape[0]
    if N == 0:
        return field.new_zeros((0, D))
    g = xy.to(field.dtype) / stride
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
    vals = field.reshape(C, D, H * W)[channel[:, None], :, idx]  # (N,4,D)
    return (vals * (wx * wy * valid)[..., None]).sum(dim=1)
