"""Pixel -> instance assignment on the image grid."""
import numpy as np
import pytest
import torch

from personlab_mm.functional import (assign_pixels, candidate_pixels, decide,
                                     near_cells)


def test_near_cells_dilate_by_one():
    fg = torch.zeros(5, 5, dtype=torch.bool)
    fg[2, 2] = True
    near = near_cells(fg)
    assert near.sum() == 9 and near[1:4, 1:4].all()


def test_decide_threshold_and_nearest():
    D = torch.tensor([[0.1, 0.5, 0.2], [0.2, 0.1, 0.9]])
    valid = torch.tensor([True, True])
    assert decide(D, valid, 0.3).tolist() == [[True, False, True],
                                              [True, True, False]]
    assert decide(D, valid, exclusive=True).tolist() == [
        [True, False, True], [False, True, False]]
    assert decide(D, valid, 0.3, exclusive=True).tolist() == [
        [True, False, True], [False, True, False]]
    # an invalid instance takes nothing and leaves the pixels to others
    assert decide(D, torch.tensor([True, False]), exclusive=True).tolist() \
        == [[True, True, True], [False, False, False]]


def test_candidate_pixels_axis_aligned_and_general_agree():
    fg = torch.zeros(6, 6, dtype=torch.bool)
    fg[2, 3] = True
    A = torch.tensor([[0.5, 0., 1.], [0., 0.5, 0.]], dtype=torch.float64)
    x1, y1, f1 = candidate_pixels(fg, A, 4., (30, 40), axis_aligned=True)
    x2, y2, f2 = candidate_pixels(fg, A, 4., (30, 40))
    assert torch.equal(f1, f2) and torch.equal(x1, x2) and torch.equal(y1, y2)
    assert 0 < f1.numel() < 30 * 40
    xa, _, fa = candidate_pixels(fg, A, 4., (30, 40), fixed=True)
    assert torch.equal(fa, torch.arange(30 * 40))


@pytest.mark.parametrize('exclusive', [False, True])
def test_assign_pixels_by_anchor_distance(device, exclusive):
    # two anchors at x = 10 and x = 30 px; foreground everywhere but the
    # last column of cells; distance = |x - anchor| / 10
    fg = torch.ones(6, 11, device=device)
    fg[:, 10] = 0.
    anchors = torch.tensor([10., 30.], device=device)

    def distance(x, y):
        return (x[None] - anchors[:, None]).abs() / 10.

    A = torch.tensor([[1., 0., 0.], [0., 1., 0.]], device=device)
    masks = assign_pixels(fg, 4., distance, torch.tensor([True, True],
                                                         device=device), A,
                          (21, 41), max_distance=1.5, exclusive=exclusive,
                          axis_aligned=True, chunk_size=100).cpu()
    cols0 = masks[0].any(0).nonzero()[:, 0]
    cols1 = masks[1].any(0).nonzero()[:, 0]
    # x = 39 px reads a quarter of background cell 10 (at 40 px)
    assert cols0.min() == 0 and cols1.max() == 38
    if exclusive:  # each pixel to the nearer anchor
        assert not (masks[0] & masks[1]).any()
        assert cols0.max() == 20 and cols1.min() == 21
    else:  # within 15 px of each
        assert cols0.max() == 25 and cols1.min() == 15
    assert masks[0, :, 0].all() and masks[1, :, 30].all()  # every row


def test_fixed_shapes_give_the_same_masks():
    gen = torch.Generator().manual_seed(0)
    fg = torch.rand(9, 9, generator=gen)
    centres = torch.rand(3, 2, generator=gen) * 30.

    def distance(x, y):
        return ((x[None] - centres[:, :1])**2 +
                (y[None] - centres[:, 1:])**2).sqrt() / 10.

    A = torch.tensor(np.array([[0.9, 0.1, 2.], [0., 1.1, -1.]]),
                     dtype=torch.float32)
    valid = torch.tensor([True, False, True])
    for exclusive in (False, True):
        a, b = (assign_pixels(fg, 4., distance, valid, A, (29, 31), 0.5,
                              1., exclusive, fixed=f) for f in (False, True))
        assert torch.equal(a, b) and a.any()
        assert not a[1].any()
