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


def _splat_bilinear(hough: Tensor, k: Tensor, gx: Tensor, gy: Tensor,
                    weight: Tensor, hough_size: Tuple[int, int]) -> None:
    """Add votes to a flat Hough array, each split bilinearly over its four
    neighbouring cells; corners outside the grid are dropped.

    Fixed shapes (out-of-grid corners add 0 to cell 0), so it serves the
    sparse and the compiled dense voting alike.

    Args:
        hough (Tensor): (K * Hh * Wh,) accumulated in place.
        k (Tensor): Keypoint type of each vote, long, any shape.
        gx (Tensor): Finite vote x in Hough cells, shape of ``k``.
        gy (Tensor): Finite vote y in Hough cells, shape of ``k``.
        weight (Tensor): Vote mass, shape of ``k``.
        hough_size (Tuple[int, int]): Hough grid ``(Wh, Hh)``.
    """
    Wh, Hh = hough_size
    x0, y0 = gx.floor(), gy.floor()
    fx, fy = gx - x0, gy - y0
    x0, y0 = x0.long(), y0.long()
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                      (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        valid = (xi >= 0) & (xi < Wh) & (yi >= 0) & (yi < Hh)
        idx = torch.where(valid, (k * Hh + yi) * Wh + xi,
                          torch.zeros_like(xi))
        vote = torch.where(valid, weight * w, torch.zeros_like(w))
        hough.index_add_(0, idx.reshape(-1), vote.reshape(-1))


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
        _splat_bilinear(hough, k[ok], gx, gy, weight[ok], hough_size)
    return hough.view(K, Hh, Wh)


def local_mass(hough: Tensor) -> Tensor:
    """Sum of each Hough cell's 3x3 neighbourhood: the vote mass around it,
    independent of where inside a cell the votes landed."""
    return F.avg_pool2d(
        hough[None], 3, stride=1, padding=1, count_include_pad=True)[0] * 9.


def _window_sum(win: Tensor) -> Tensor:
    """Sum of (..., 3, 3) windows in a fixed order, so that the sparse and
    the dense peak finders get bit-identical masses (and break ties
    alike)."""
    total = win[..., 0, 0]
    for i in range(1, 9):
        total = total + win[..., i // 3, i % 3]
    return total


def _strongest(scores: Tensor, n: int) -> Tuple[Tensor, Tensor]:
    """The ``n`` highest scores, descending, ties in input order.

    Args:
        scores (Tensor): (N,) scores.
        n (int): How many.

    Returns:
        tuple: the scores (min(n, N),) and their indices.
    """
    index = torch.arange(scores.numel(), device=scores.device)
    if scores.numel() > n:
        _, index = scores.topk(n)
        index = index.sort()[0]  # back to input order before the ties
    scores, order = scores[index].sort(descending=True, stable=True)
    return scores, index[order]


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
        ``xy`` (N, 2) in input pixels, sorted by descending score (ties:
        keypoint type, then row, then column).
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
    mass = _window_sum(win)
    keep = (centre >= win.amax(dim=(1, 2))) & (mass >= threshold)
    k, iy, ix, win, mass = k[keep], iy[keep], ix[keep], win[keep], mass[keep]
    # candidates come in flat-index order: ties keep it
    scores, order = _strongest(mass, max_peaks)
    k, iy, ix, win = k[order], iy[order], ix[order], win[order]
    # centre of mass of the 3x3 neighbourhood
    total = win.sum(dim=(1, 2)).clamp(min=1e-12)
    dd = d.to(hough.dtype)
    cx = ix.to(hough.dtype) + (win.sum(1) * dd).sum(1) / total
    cy = iy.to(hough.dtype) + (win.sum(2) * dd).sum(1) / total
    xy = torch.stack([cx, cy], dim=1) * hough_stride
    return scores, k, xy


# ------------------------------------------------------ fixed-shape variants
# The functions below give the same results as :func:`hough_voting` and
# :func:`find_peaks` without data-dependent shapes (no ``nonzero``, no
# boolean indexing): every cell votes (with weight 0 below the threshold)
# and peaks are the top ``max_peaks`` cells of a dense peak score, padded
# and flagged by ``valid``. On a GPU under ``torch.compile`` they fuse into
# a few kernels with no host synchronisation; on a CPU the sparse versions
# above are faster.


def hough_voting_dense(heatmaps: Tensor,
                       short_offsets: Tensor,
                       stride: float,
                       radius: float,
                       hough_stride: float,
                       hough_size: Tuple[int, int],
                       vote_threshold: float = 1e-3) -> Tensor:
    """:func:`hough_voting` with every cell voting (fixed shapes).

    Cells below ``vote_threshold`` and non-finite votes carry weight 0, so
    the result equals :func:`hough_voting`'s (up to the order of the float
    additions).

    Args:
        heatmaps (Tensor): (K, H, W) keypoint probabilities.
        short_offsets (Tensor): (K, 2, H, W) in input pixels.
        stride (float): Stride of the maps.
        radius (float): Disk radius R in input pixels.
        hough_stride (float): Hough cell size in input pixels.
        hough_size (Tuple[int, int]): Hough grid ``(Wh, Hh)``.
        vote_threshold (float): Cells with a lower probability do not vote.

    Returns:
        Tensor: (K, Hh, Wh) Hough maps.
    """
    K, H, W = heatmaps.shape
    Wh, Hh = hough_size
    dtype, device = heatmaps.dtype, heatmaps.device
    hough = heatmaps.new_zeros(K * Hh * Wh)
    weight = heatmaps * (stride * stride / (math.pi * radius * radius))
    xs = torch.arange(W, device=device, dtype=dtype) * stride
    ys = torch.arange(H, device=device, dtype=dtype) * stride
    gx = (xs + short_offsets[:, 0]) / hough_stride  # (K, H, W)
    gy = (ys[:, None] + short_offsets[:, 1]) / hough_stride
    ok = (heatmaps > vote_threshold) & torch.isfinite(gx) & torch.isfinite(
        gy) & torch.isfinite(weight)
    weight = torch.where(ok, weight, torch.zeros_like(weight))
    gx = torch.where(ok, gx, torch.zeros_like(gx)).clamp(-2., Wh + 1.)
    gy = torch.where(ok, gy, torch.zeros_like(gy)).clamp(-2., Hh + 1.)
    k = torch.arange(K, device=device)[:, None, None].expand_as(gx)
    _splat_bilinear(hough, k, gx, gy, weight, hough_size)
    return hough.view(K, Hh, Wh)


def find_peaks_dense(hough: Tensor,
                     threshold: float,
                     hough_stride: float,
                     max_peaks: int = 1000
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """:func:`find_peaks` with a fixed number of outputs.

    Every cell gets a peak score (its 3x3 vote mass if it is a peak, -1
    otherwise); the ``S = min(max_peaks, K * Hh * Wh)`` best cells are
    returned, strongest first, the non-peaks among them flagged invalid.

    Args:
        hough (Tensor): (K, Hh, Wh) Hough maps.
        threshold (float): Minimum local mass (paper: 0.01).
        hough_stride (float): Hough cell size in input pixels.
        max_peaks (int): S, the number of outputs.

    Returns:
        tuple: ``scores`` (S,), keypoint types ``kpt`` (S,), positions
        ``xy`` (S, 2) in input pixels and ``valid`` (S,) bool; the valid
        entries come first and equal :func:`find_peaks`'s output.
    """
    K, Hh, Wh = hough.shape
    padded = F.pad(hough, (1, 1, 1, 1))  # zeros outside
    win = padded.unfold(1, 3, 1).unfold(2, 3, 1)  # (K, Hh, Wh, 3, 3) view
    mass = _window_sum(win)
    peak = (hough >= win.amax(dim=(-2, -1))) & (
        hough >= max(threshold / 9., 1e-12)) & (mass >= threshold)
    score = torch.where(peak, mass, torch.full_like(mass, -1.)).view(-1)
    scores, flat = _strongest(score, max_peaks)
    valid = peak.view(-1)[flat]
    k, iy, ix = flat // (Hh * Wh), (flat // Wh) % Hh, flat % Wh
    d = torch.arange(3, device=hough.device)
    win = padded[k[:, None, None], iy[:, None, None] + d[:, None],
                 ix[:, None, None] + d]  # (S, 3, 3)
    total = win.sum(dim=(1, 2)).clamp(min=1e-12)
    dd = (d - 1).to(hough.dtype)
    cx = ix.to(hough.dtype) + (win.sum(1) * dd).sum(1) / total
    cy = iy.to(hough.dtype) + (win.sum(2) * dd).sum(1) / total
    xy = torch.stack([cx, cy], dim=1) * hough_stride
    return scores, k, xy, valid
