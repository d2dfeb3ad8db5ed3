"""Local maxima of dense maps (non-maximum suppression in a window)."""
from typing import NamedTuple, Tuple

import torch
from torch import Tensor

from .shapes import compact, select


class Peaks(NamedTuple):
    """Peaks sorted by descending score (ties: channel, row, column).

    Attributes:
        scores (Tensor): (N,) peak scores.
        channel (Tensor): (N,) long channel (keypoint type, class, ...).
        iy (Tensor): (N,) long row. ix (Tensor): (N,) long column.
        windows (Tensor): (N, k, k) the values around each peak (zero
            outside the map).
        valid (Tensor): (N,) bool; all true unless ``fixed``, then the
            valid entries come first.
    """
    scores: Tensor
    channel: Tensor
    iy: Tensor
    ix: Tensor
    windows: Tensor
    valid: Tensor


def window_sum(windows: Tensor) -> Tensor:
    """Sum of (..., k, k) windows in row-major order: one fixed order of
    float additions, so every path gets bit-identical sums (and breaks ties
    alike)."""
    k = windows.shape[-1]
    total = windows[..., 0, 0]
    for n in range(1, k * k):
        total = total + windows[..., n // k, n % k]
    return total


def windows_at(maps: Tensor, channel: Tensor, iy: Tensor, ix: Tensor,
               kernel: int) -> Tensor:
    """(N, k, k) neighbourhoods of cells ``(channel, iy, ix)`` of (C, H, W)
    maps, zero outside the maps."""
    _, H, W = maps.shape
    d = torch.arange(kernel, device=maps.device) - kernel // 2
    wy = iy[:, None, None] + d[None, :, None]  # (N, k, 1)
    wx = ix[:, None, None] + d[None, None, :]  # (N, 1, k)
    inside = (wy >= 0) & (wy < H) & (wx >= 0) & (wx < W)
    return maps[channel[:, None, None], wy.clamp(0, H - 1),
                wx.clamp(0, W - 1)] * inside


def strongest(scores: Tensor, n: int) -> Tuple[Tensor, Tensor]:
    """The ``n`` highest scores, descending, ties in input order.

    Returns:
        tuple: the scores (min(n, N),) and their indices.
    """
    index = torch.arange(scores.numel(), device=scores.device)
    if scores.numel() > n:
        _, index = scores.topk(n)
        index = index.sort()[0]  # back to input order before the ties
    scores, order = scores[index].sort(descending=True, stable=True)
    return scores, index[order]


def find_peaks(maps: Tensor,
               threshold: float,
               max_peaks: int,
               kernel: int = 3,
               score: str = 'value',
               fixed: bool = False,
               plateaus: str = 'all') -> Peaks:
    """Cells that are the maximum of their ``kernel x kernel`` window,
    scored and thresholded, strongest first.

    A cell is a peak when no cell of its window is larger (with
    ``plateaus='all'`` every cell of a plateau is a peak; with ``'first'``
    only a cell with no equal cell before it, in raster order, in its
    window: one peak per plateau narrower than the window) and its score
    reaches ``threshold``: with
    ``score='value'`` the score is the cell's value, with ``score='mass'``
    the sum of its window (the vote mass around a Hough peak, independent
    of where inside a cell the votes landed). Only cells that can reach the
    threshold are examined (value at least ``threshold``, or
    ``threshold / k**2`` for mass, and above 1e-12), so the cost follows the
    number of such cells. MMPose's ``batch_heatmap_nms`` answers the
    local-maximum question densely; this form also gives the mass and the
    window for sub-cell positions (:func:`window_centroid`).

    Args:
        maps (Tensor): (C, H, W) non-negative maps.
        threshold (float): Minimum score.
        max_peaks (int): Keep at most this many, by score.
        kernel (int): Odd window size. Defaults to 3.
        score (str): ``'value'`` or ``'mass'``. Defaults to ``'value'``.
        fixed (bool): Fixed shapes: exactly ``min(max_peaks, C * H * W)``
            entries, invalid ones after the valid (see :mod:`.shapes`).
        plateaus (str): ``'all'`` or ``'first'`` (see above). Defaults to
            ``'all'``.

    Returns:
        Peaks: see its docstring.
    """
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f'kernel must be a positive odd number, got {kernel}')
    if score not in ('value', 'mass'):
        raise ValueError(f"score must be 'value' or 'mass', got {score!r}")
    if plateaus not in ('all', 'first'):
        raise ValueError(
            f"plateaus must be 'all' or 'first', got {plateaus!r}")
    floor = threshold / kernel**2 if score == 'mass' else threshold
    candidate = maps >= max(floor, 1e-12)
    k, iy, ix = select(candidate, fixed)
    win = windows_at(maps, k, iy, ix, kernel)
    centre = maps[k, iy, ix]
    value = window_sum(win) if score == 'mass' else centre
    peak = (centre >= win.amax(dim=(1, 2))) & (value >= threshold)
    if plateaus == 'first':
        # cells before the centre in raster order (the window's first half)
        before = torch.arange(kernel * kernel, device=maps.device).view(
            kernel, kernel) < (kernel * kernel) // 2
        peak = peak & ~((win == centre[:, None, None]) & before).any(
            dim=(1, 2))
    if fixed:
        peak = peak & candidate.view(-1)
        value = torch.where(peak, value, torch.full_like(value, -1.))
    k, iy, ix, win, value, peak = compact(peak, k, iy, ix, win, value, peak,
                                          fixed=fixed)
    # entries are in flat-index order: ties keep it
    scores, order = strongest(value, max_peaks)
    return Peaks(scores, k[order], iy[order], ix[order], win[order],
                 peak[order])


def window_centroid(windows: Tensor, iy: Tensor, ix: Tensor) -> Tensor:
    """Centre of mass of each peak's window, in (fractional) cells.

    For votes splatted bilinearly (:func:`.voting.splat_bilinear`) this
    recovers the exact point where they were cast.

    Args:
        windows (Tensor): (N, k, k) from :func:`find_peaks`.
        iy (Tensor): (N,) rows. ix (Tensor): (N,) columns.

    Returns:
        Tensor: (N, 2) ``(x, y)`` in cells.
    """
    kernel = windows.shape[-1]
    dtype = windows.dtype
    total = windows.sum(dim=(1, 2)).clamp(min=1e-12)
    d = (torch.arange(kernel, device=windows.device) - kernel // 2).to(dtype)
    cx = ix.to(dtype) + (windows.sum(1) * d).sum(1) / total
    cy = iy.to(dtype) + (windows.sum(2) * d).sum(1) / total
    return torch.stack([cx, cy], dim=1)
