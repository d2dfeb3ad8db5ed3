"""Offset voting: every cell casts a vote at ``x + o(x)``, accumulated
bilinearly on a vote grid (a Hough transform over offsets)."""
from typing import Tuple

import torch
from torch import Tensor

from .sampling import gather_cells
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


def window_cells(points: Tensor, stride: float, height: int, width: int,
                 half: int) -> Tuple[Tensor, Tensor, Tensor]:
    """The ``(2 h + 1)**2`` grid cells around each point.

    Args:
        points (Tensor): (P, 2) positions in input pixels.
        stride (float): Grid stride in input pixels.
        height (int): Grid height H.
        width (int): Grid width W.
        half (int): ``h``, the window's half width in cells.

    Returns:
        tuple: flat cell indices ``i * W + j`` (P, Q) long (clamped into the
        grid), ``inside`` (P, Q) bool and the cells' positions (P, Q, 2) in
        input pixels, with ``Q = (2 h + 1)**2`` in row-major window order.
    """
    near = torch.nan_to_num(points / stride).clamp(-1e6, 1e6).round().long()
    xi, yi = near[:, 0:1], near[:, 1:2]
    if half:
        n = 2 * half + 1
        d = torch.arange(-half, half + 1, device=points.device)
        xi = xi + d.repeat(n)[None]
        yi = yi + d.repeat_interleave(n)[None]
    xc, yc = xi.clamp(0, width - 1), yi.clamp(0, height - 1)
    inside = (xc == xi) & (yc == yi)
    cell_xy = torch.stack([xc, yc], dim=-1).to(points.dtype) * stride
    return yc * width + xc, inside, cell_xy


def voter_mean(points: Tensor, cells: Tuple[Tensor, Tensor, Tensor],
               channel: Tensor, probs: Tensor, votes: Tensor,
               field_channel: Tensor, field: Tensor,
               sigma: float) -> Tuple[Tensor, Tensor]:
    """Where the cells that voted for each point send it through another
    offset field.

    Cell ``c`` of the window of point ``y`` (vote channel ``k``) votes at
    ``c + V_k(c)`` with probability ``p_k(c)``; its weight for ``y`` is
    ``w(c) = p_k(c) exp(-|c + V_k(c) - y|^2 / (2 sigma^2))``, and the
    result is ``sum_c w(c) (c + F(c)) / sum_c w(c)``. Reading ``F``
    bilinearly at ``y`` mixes the fields of every cell around it; reading
    it at the cells whose votes land on ``y`` keeps the field of the object
    ``y`` belongs to when another object's same-type point lies within a
    cell of it.

    Args:
        points (Tensor): (P, 2) in input pixels.
        cells (tuple): The window of cells around each point
            (:func:`window_cells`).
        channel (Tensor): (P,) long, the vote channel of each point.
        probs (Tensor): (C, H, W) vote probabilities.
        votes (Tensor): (C, 2, H, W) vote offsets in input pixels.
        field_channel (Tensor): (P,) long, the channel of ``field`` read
            for each point.
        field (Tensor): (F, 2, H, W) offsets in input pixels.
        sigma (float): Width of the vote gate in input pixels.

    Returns:
        tuple: positions (P, 2) and the total vote weight (P,) (in cells
        voting exactly; 0 where no cell voted for the point, whose
        position is then the point itself).
    """
    idx, inside, cell_xy = cells
    p, ends = _window_votes(cells, channel, probs, votes)
    out = cell_xy + gather_cells(field, field_channel, idx)
    return _gated_mean(points, p, ends, inside, out, sigma)


def _window_votes(cells: Tuple[Tensor, Tensor, Tensor], channel: Tensor,
                  probs: Tensor, votes: Tensor) -> Tuple[Tensor, Tensor]:
    """Probability (P, Q) and vote ``c + V(c)`` (P, Q, 2) of every cell of
    the windows."""
    idx, _, cell_xy = cells
    return (gather_cells(probs[:, None], channel, idx)[..., 0],
            cell_xy + gather_cells(votes, channel, idx))


def _gated_mean(points: Tensor, p: Tensor, ends: Tensor, inside: Tensor,
                out: Tensor, sigma: float) -> Tuple[Tensor, Tensor]:
    """The mean of ``out`` (P, Q, 2) weighted by ``p exp(-|ends - y|^2 /
    (2 sigma^2))`` over the cells inside the grid, and the weights' sum."""
    d2 = (ends - points[:, None]).pow(2).sum(-1)
    w = torch.nan_to_num(p * torch.exp(-d2 / (2 * sigma**2))) * inside
    mass = w.sum(1)
    mean = (w[..., None] * torch.nan_to_num(out)).sum(1) / mass.clamp(
        min=1e-30)[:, None]
    return torch.where(mass[:, None] > 0, mean, points), mass


def snap_to_votes(points: Tensor, channel: Tensor, probs: Tensor,
                  votes: Tensor, stride: float, sigma: float,
                  half: int) -> Tensor:
    """Move each point onto the nearest cluster of votes: first to the vote
    of the cell of its window that votes for it most (largest ``log p -
    d^2 / (2 sigma^2)``, ``d`` the distance of its vote), then to the gated
    mean of the votes around that (:func:`voter_mean` with the vote field
    itself). A Hough peak merges the votes for two same-type points
    closer than its window; this puts it on one of them.

    Args:
        points (Tensor): (P, 2) in input pixels.
        channel (Tensor): (P,) long.
        probs (Tensor): (C, H, W) vote probabilities.
        votes (Tensor): (C, 2, H, W) vote offsets.
        stride (float): Grid stride.
        sigma (float): Width of the vote gate in input pixels.
        half (int): Window half width in cells.

    Returns:
        Tensor: (P, 2) snapped points (unchanged where nothing voted).
    """
    H, W = votes.shape[-2:]
    cells = window_cells(points, stride, H, W, half)
    inside = cells[1]
    p, ends = _window_votes(cells, channel, probs, votes)
    voting = inside & (p > 0) & torch.isfinite(ends).all(-1)
    d2 = (ends - points[:, None]).pow(2).sum(-1)
    score = p.clamp(min=1e-30).log() - d2 / (2 * sigma**2)
    score = torch.where(voting, score, torch.full_like(score, -float('inf')))
    best = score.argmax(dim=1, keepdim=True)
    nearest = ends.gather(1, best[..., None].expand(-1, 1, 2))[:, 0]
    nearest = torch.where(voting.any(1, keepdim=True), nearest, points)
    # the gated mean of the same window's votes around it
    snapped, _ = _gated_mean(nearest, p, ends, inside, ends, sigma)
    return snapped
