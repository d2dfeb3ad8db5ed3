"""select / compact: data-dependent or fixed shapes."""
import torch

from personlab_mm.functional import compact, select


def test_select_true_entries_or_all():
    mask = torch.tensor([[False, True, False], [True, False, True]])
    rows, cols = select(mask)
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [1, 0, 2]
    rows, cols = select(mask, fixed=True)
    assert rows.tolist() == [0, 0, 0, 1, 1, 1]
    assert cols.tolist() == [0, 1, 2, 0, 1, 2]
    a, b, c = select(torch.zeros(2, 3, 4, dtype=torch.bool), fixed=True)
    assert (a * 12 + b * 4 + c).tolist() == list(range(24))


def test_compact_drops_or_keeps():
    keep = torch.tensor([True, False, True])
    x, y = torch.tensor([1, 2, 3]), torch.tensor([[1.], [2.], [3.]])
    cx, cy = compact(keep, x, y)
    assert cx.tolist() == [1, 3] and cy.tolist() == [[1.], [3.]]
    fx, fy = compact(keep, x, y, fixed=True)
    assert fx is x and fy is y
