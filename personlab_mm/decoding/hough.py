"""Hough voting (PersonLab Eq. 1) and peak finding."""
import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def hough_grid_size(input_size: Tuple[int, int],
                    hough_stride: float) -> Tuple[int, int]:
    """Hough grid ``(Wh, Hh)`` covering an input of ``(w, h)`` pixels, cell
    ``(i, j)`` at input pixel ``(j * hough_stride, i * hough_stride)``."""
    w, h = input_size
    return (int(math.floor((w - 1) / hough_stride)) + 1,
            int(math.floor((h - 1) / hough_stride)) + 1)


def hough_voting(heatmaps: Tensor,
                 short_offsets: Tensor,
                 stride: float,
                 radius: float,
                 hough_stride: float,
                 hough_size: Tuple[int, int],
                 vote_threshold: float = 1e-3) -> Tensor:
    r"""Aggregate heatmaps and short-range offsets into Hough score maps.

    Eq. 1: :math:`h_k(x) = \frac{1}{\pi R^2} \sum_i p_k(x_i)
    B(x_i + S_k(x_i) - x)`, with ``B`` the bilinear kernel. Every output
    cell stands for ``stride**2`` pixels, so its vote weighs
    ``p * stride**2 / (pi R^2)``: a perfectly predicted disk casts a total
    mass of about 1 onto its keypoint. Votes are accumulated on a Hough grid
    of ``hough_stride`` pixels with a scatter-add (mass per Hough cell).

    Args:
        heatmaps (Tensor): (K, H, W) keypoint probabilities.
        short_offsets (Tensor): (K, 2, H, W) in input pixels.
        stride (float): Stride of the maps.
        radius (float): Disk radius R in input pixels.
        hough_stride (float): Hough cell size in input pixels.
        hough_size (Tuple[int, int]): Hough grid ``(Wh, Hh)``.
        vote_threshold (float): Cells with a lower probability do not vote
            (their mass is negligible; skipping them keeps voting sparse).

    Returns:
        Tensor: (K, Hh, Wh) Hough maps.
    """
    K, H, W = heatmaps.shape
    Wh, Hh = hough_size
    hough = heatmaps.new_zeros(K * Hh * Wh)
    k, i, j = torch.nonzero(heatmaps > vote_threshold, as_tuple=True)
    if k.numel():
        weight = heatmaps[k, i, j] * (stride * stride /
                                      (math.pi * radius * radius))
        px = j.to(heatmaps.dtype) * stride + short_offsets[k, 0, i, j]
        py = i.to(heatmaps.dtype) * stride + short_offsets[k, 1, i, j]
        gx, gy = px / hough_stride, py / hough_stride
        ok = torch.isfinite(gx) & torch.isfinite(gy) & torch.isfinite(weight)
        gx = gx[ok].clamp(-2., Wh + 1.)
        gy = gy[ok].clamp(-2., Hh + 1.)
        k, weight = k[ok], weight[ok]
        x0, y0 = gx.floor(), gy.floor()
        fx, fy = gx - x0, gy - y0
        x0, y0 = x0.long(), y0.long()
        for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                          (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            xi, yi = x0 + dx, y0 + dy
            valid = (xi >= 0) & (xi < Wh) & (yi >= 0) & (yi < Hh)
            idx = (k * Hh + yi) * Wh + xi
            hough.index_add_(0, idx[valid], (weight * w)[valid])
    return hough.view(K, Hh, Wh)


def local_mass(hough: Tensor) -> Tensor:
    """Sum of each Hough cell's 3x3 neighbourhood: the vote mass around it,
    independent of where inside a cell the votes landed."""
    return F.avg_pool2d(
        hough[None], 3, stride=1, padding=1, count_include_pad=True)[0] * 9.


def find_peaks(hough: Tensor,
               threshold: float,
               hough_stride: float,
               max_peaks: int = 1000) -> Tuple[Tensor, Tensor, Tensor]:
    """Local maxima of the Hough maps, strongest first, with sub-cell
    positions.

    A cell is a peak when it is the maximum of its 3x3 neighbourhood and
    the local vote mass there is at least ``threshold``; its position is
    refined to the centre of mass of that neighbourhood, which recovers the
    exact point where bilinear votes were cast.

    Votes are sparse, so only cells holding at least ``threshold / 9`` (the
    least a peak with that mass can hold) are examined, each against its
    eight neighbours: the cost follows the number of such cells, not the
    size of the maps.

    Args:
        hough (Tensor): (K, Hh, Wh) Hough maps.
        threshold (float): Minimum local mass (paper: 0.01).
        hough_stride (float): Hough cell size in input pixels.
        max_peaks (int): Keep at most this many, by score.

    Returns:
        tuple: ``scores`` (N,), keypoint types ``kpt`` (N,) and positions
        ``xy`` (N, 2) in input pixels, sorted by descending score.
    """
    K, Hh, Wh = hough.shape
    k, iy, ix = torch.nonzero(hough >= max(threshold / 9., 1e-12),
                              as_tuple=True)
    d = torch.arange(-1, 2, device=hough.device)
    wy = iy[:, None, None] + d[None, :, None]  # (N, 3, 1)
    wx = ix[:, None, None] + d[None, None, :]  # (N, 1, 3)
    inside = (wy >= 0) & (wy < Hh) & (wx >= 0) & (wx < Wh)
    win = hough[k[:, None, None], wy.clamp(0, Hh - 1),
                wx.clamp(0, Wh - 1)] * inside  # (N, 3, 3)
    centre = hough[k, iy, ix]
    mass = win.sum(dim=(1, 2))
    keep = (centre >= win.amax(dim=(1, 2))) & (mass >= threshold)
    k, iy, ix, win, mass = k[keep], iy[keep], ix[keep], win[keep], mass[keep]
    if mass.numel() > max_peaks:
        scores, order = mass.topk(max_peaks)
    else:
        scores, order = mass.sort(descending=True)
    k, iy, ix, win = k[order], iy[order], ix[order], win[order]
    # centre of mass of the 3x3 neighbourhood
    total = win.sum(dim=(1, 2)).clamp(min=1e-12)
    dd = d.to(hough.dtype)
    cx = ix.to(hough.dtype) + (win.sum(1) * dd).sum(1) / total
    cy = iy.to(hough.dtype) + (win.sum(2) * dd).sum(1) / total
    xy = torch.stack([cx, cy], dim=1) * hough_stride
    return scores, k, xy
