"""Offset voting: bilinear splats by hand; fixed shapes give the same
accumulator."""
import torch

from personlab_mm.functional import covering_grid_size, vote_at_offsets


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
