"""Offset voting: bilinear splats by hand; fixed shapes give the same
accumulator."""
import math

import torch

from personlab_mm.functional import (covering_grid_size, gather_cells,
                                     sample_points, snap_to_votes,
                                     vote_at_offsets, voter_mean, window_cells)


def test_one_vote_by_hand():
    weights = torch.zeros(2, 3, 3)
    weights[1, 1, 1] = 1.
    offsets = torch.zeros(2, 2, 3, 3)
    offsets[1, :, 1, 1] = torch.tensor([1., 0.5])  # from (4, 4) to (5, 4.5)
    votes = vote_at_offsets(weights, offsets, weights > 0, 4., 2.,
                            covering_grid_size((9, 9), 2.), scale=2.)
    assert votes.shape == (2, 5, 5) and votes[0].sum() == 0
    # (5, 4.5) px = vote cell (2.5, 2.25): mass 2 split bilinearly
    want = torch.zeros(5, 5)
    want[2, 2], want[2, 3] = 2 * .75 * .5, 2 * .75 * .5
    want[3, 2], want[3, 3] = 2 * .25 * .5, 2 * .25 * .5
    torch.testing.assert_close(votes[1], want)


def test_inactive_and_non_finite_cells_do_not_vote():
    weights = torch.ones(1, 2, 2)
    offsets = torch.zeros(1, 2, 2, 2)
    offsets[0, 0, 0, 1] = float('nan')
    active = torch.tensor([[[True, True], [False, True]]])
    votes = vote_at_offsets(weights, offsets, active, 1., 1., (2, 2))
    assert votes.view(-1).tolist() == [1., 0., 0., 1.]


def test_fixed_shapes_give_the_same_votes():
    gen = torch.Generator().manual_seed(0)
    weights = torch.rand(3, 9, 11, generator=gen)
    offsets = torch.randn(3, 2, 9, 11, generator=gen) * 10.
    offsets[0, 0, 2, 3] = float('inf')
    size = covering_grid_size((81, 65), 4.)
    sparse = vote_at_offsets(weights, offsets, weights > 0.3, 8., 4., size)
    fixed = vote_at_offsets(weights, offsets, weights > 0.3, 8., 4., size,
                            fixed=True)
    torch.testing.assert_close(fixed, sparse, atol=1e-6, rtol=0)


def _two_close_points():
    """Two type-0 points 3 px apart on a stride-4 grid: every cell votes
    (short-range) for the closer one and points (field) to that point's
    partner, 40 px left or right of it."""
    H = W = 9
    a, b = torch.tensor([14., 16.]), torch.tensor([17., 16.])
    ys, xs = torch.meshgrid(torch.arange(H) * 4., torch.arange(W) * 4.,
                            indexing='ij')
    cells = torch.stack([xs, ys])  # (2, H, W)
    closer_a = ((cells - a[:, None, None]).norm(dim=0)
                <= (cells - b[:, None, None]).norm(dim=0))
    target = torch.where(closer_a, a[:, None, None], b[:, None, None])
    votes = (target - cells)[None]  # (1, 2, H, W)
    step = torch.tensor([40., 0.])[:, None, None]
    partner = torch.where(closer_a, a[:, None, None] - step,
                          b[:, None, None] + step)
    field = (partner - cells)[None]
    probs = torch.ones(1, H, W)
    return a, b, probs, votes, field


def _read_by_voters(points, channel, probs, votes, field_channel, field,
                    stride, sigma, half):
    """:func:`voter_mean` over the windows of ``half`` around the points."""
    cells = window_cells(points, stride, *votes.shape[-2:], half)
    return voter_mean(points, cells, channel, probs, votes, field_channel,
                      field, sigma)


def test_voter_mean_keeps_close_points_apart():
    a, b, probs, votes, field = _two_close_points()
    points = torch.stack([a, b])
    ch = torch.zeros(2, dtype=torch.long)
    ends, mass = _read_by_voters(points, ch, probs, votes, ch, field, 4.,
                                 0.5, 2)
    torch.testing.assert_close(ends, torch.stack(
        [a - torch.tensor([40., 0.]), b + torch.tensor([40., 0.])]))
    assert (mass > 5).all()  # several cells vote exactly for each
    # a bilinear read at the point mixes both partners
    mixed = points + sample_points(field[0], points[:, 0] / 4.,
                                   points[:, 1] / 4.).T
    assert ((mixed - ends).norm(dim=1) > 10).any()
    # nothing votes near (30, 30): the point itself, mass 0
    far, m = _read_by_voters(torch.tensor([[30., 30.]]), ch[:1], probs,
                             votes, ch[:1], field, 4., 0.5, 1)
    assert m.item() == 0. and far.tolist() == [[30., 30.]]


def test_snap_to_votes_picks_one_of_two_merged_points():
    a, b, probs, votes, _ = _two_close_points()
    ch = torch.zeros(3, dtype=torch.long)
    between = torch.stack([(a + b) / 2 - torch.tensor([0.2, 0.]),
                           (a + b) / 2 + torch.tensor([0.2, 0.]),
                           torch.tensor([16., 30.])])
    snapped = snap_to_votes(between, ch, probs, votes, 4., 0.5, 2)
    torch.testing.assert_close(snapped[:2], torch.stack([a, b]))
    # no cell with p > 0 around it: unchanged
    probs = probs.clone()
    probs[:, 5:] = 0.
    alone = snap_to_votes(torch.tensor([[16., 34.]]), ch[:1], probs, votes,
                          4., 0.5, 1)
    assert alone.tolist() == [[16., 34.]]


def test_window_cells_and_voter_weights_by_hand():
    field = torch.zeros(2, 2, 3, 4)
    field[1, 0] = 1.  # channel 1: 1 px right
    idx, inside, cell_xy = window_cells(torch.tensor([[0., 0.]]), 2., 3, 4,
                                        1)
    # window q = (dy + 1) * 3 + (dx + 1): only dx, dy >= 0 is in the grid
    assert idx.shape == (1, 9)
    assert inside[0].tolist() == [False] * 4 + [True, True, False, True,
                                                True]
    assert idx[0, 8].item() == 1 * 4 + 1
    assert cell_xy[0, 8].tolist() == [2., 2.]
    ends = cell_xy + gather_cells(field, torch.tensor([1]), idx)
    assert ends[0, 4].tolist() == [1., 0.]  # cell (0, 0) at pixel (0, 0)
    assert ends[0, 8].tolist() == [3., 2.]  # cell (1, 1) at pixel (2, 2)
    # the weights: cell (0, 0) votes exactly at (1, 0), cell (1, 0) at
    # (3, 0), 2 px away; reading the vote field itself gives their mean
    probs = torch.zeros(2, 3, 4)
    probs[1, 0, :2] = 0.5
    pos, mass = _read_by_voters(torch.tensor([[1., 0.]]), torch.tensor([1]),
                                probs, field, torch.tensor([1]), field, 2.,
                                1., 1)
    w = torch.tensor([0.5, 0.5 * math.exp(-2.)])
    assert abs(mass.item() - w.sum().item()) < 1e-6
    expected = (w[0] * 1. + w[1] * 3.) / w.sum()
    assert abs(pos[0, 0].item() - expected.item()) < 1e-5
    assert pos[0, 1].item() == 0.
