"""Offset voting: every cell casts a vote at ``x + o(x)``, accumulated
bilinearly on a vote grid (a Hough transform over offsets)."""
from typing import Tuple

import torch
from torch import Tensor

from .shapes import compact, select


def splat_bilinear(accumulator: Tensor, channel: Tensor, gx: Tensor,
                   gy: Tensor, weight: Tensor, size: Tuple[int,
                                                           int]) -> None:
    """Add votes to a flat accumulator, each split bilinearly over its four
    neighbouring cells; corners outside the grid are dropped.

    Shapes are fixed (an out-of-grid corner adds 0 to cell 0), so it serves
    eager and compiled voting alike.

    Args:
        accumulator (Tensor): (C * Hv * Wv,) accumulated in place.
        channel (Tensor): Channel of each vote, long, any shape.
        gx (Tensor): Finite vote x in vote cells, shape of ``channel``.
        gy (Tensor): Finite vote y in vote cells, shape of ``channel``.
        weight (Tensor): Vote mass, shape of ``channel``.
        size (Tuple[int, int]): Vote grid ``(Wv, Hv)``.
    """
    Wv, Hv = size
    x0, y0 = gx.floor(), gy.floor()
    fx, fy = gx - x0, gy - y0
    x0, y0 = x0.long(), y0.long()
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                      (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        valid = (xi >= 0) & (xi < Wv) & (yi >= 0) & (yi < Hv)
        idx = torch.where(valid, (channel * Hv + yi) * Wv + xi,
                          torch.zeros_like(xi))
        vote = torch.where(valid, weight * w, torch.zeros_like(w))
        accumulator.index_add_(0, idx.reshape(-1), vote.reshape(-1))


def vote_at_offsets(weights: Tensor,
                    offsets: Tensor,
                    active: Tensor,
                    stride: float,
                    cell: float,
                    size: Tuple[int, int],
                    scale: float = 1.,
                    fixed: bool = False) -> Tensor:
    """Accumulate the votes of the active cells at ``x + o(x)``.

    Cell ``x = (j * stride, i * stride)`` of channel ``k`` casts a vote of
    mass ``weights[k, i, j] * scale`` at ``x + offsets[k, :, i, j]``,
    split bilinearly over the vote grid of ``cell`` pixels. Non-finite
    votes are dropped.

    Args:
        weights (Tensor): (C, H, W) vote weights.
        offsets (Tensor): (C, 2, H, W) in input pixels.
        active (Tensor): (C, H, W) bool, the cells that vote.
        stride (float): Stride of the maps.
        cell (float): Vote cell size in input pixels.
        size (Tuple[int, int]): Vote grid ``(Wv, Hv)``
            (:func:`.grid.covering_grid_size`).
        scale (float): Multiplier of every vote's mass.
        fixed (bool): Fixed shapes (every cell votes, inactive ones with
            mass 0; see :mod:`.shapes`).

    Returns:
        Tensor: (C, Hv, Wv) accumulated mass.
    """
    C = weights.shape[0]
    Wv, Hv = size
    dtype = weights.dtype
    votes = weights.new_zeros(C * Hv * Wv)
    k, i, j = select(active, fixed)
    mass = weights[k, i, j] * scale
    gx = (j.to(dtype) * stride + offsets[k, 0, i, j]) / cell
    gy = (i.to(dtype) * stride + offsets[k, 1, i, j]) / cell
    ok = torch.isfinite(gx) & torch.isfinite(gy) & torch.isfinite(mass)
    if fixed:
        ok = ok & active[k, i, j]
    if fixed:  # every cell votes; the rejected ones with mass 0
        zero = torch.zeros_like(mass)
        mass, gx, gy = (torch.where(ok, v, zero) for v in (mass, gx, gy))
    else:
        k, gx, gy, mass = compact(ok, k, gx, gy, mass)
    splat_bilinear(votes, k, gx.clamp(-2., Wv + 1.), gy.clamp(-2., Hv + 1.),
                   mass, size)
    return votes.view(C, Hv, Wv)
