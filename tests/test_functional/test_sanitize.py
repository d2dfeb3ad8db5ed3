"""Sanitising maps by kind."""
import math

import pytest
import torch

from personlab_mm.functional import offset_bound, sanitize_tensors

nan, inf = float('nan'), float('inf')


def test_every_kind_is_bounded():
    t = dict(
        p=torch.tensor([nan, inf, -inf, 2., -1., .5]),
        o=torch.tensor([nan, inf, -inf, 1e30, -5., 3.]),
        l=torch.tensor([nan, inf, -1e30, 3.]),
        e=torch.tensor([nan, -inf, 1e30, 3.]).half())
    kinds = dict(p='probability', o='offset', l='logits', e='embedding')
    out = sanitize_tensors(t, kinds, (2, 3), 8.)
    assert out['p'].tolist() == [0., 1., 0., 1., 0., .5]
    bound = offset_bound((2, 3), 8.)
    assert bound > 3 * 8
    assert out['o'].tolist() == [0., bound, -bound, bound, -5., 3.]
    assert out['l'].tolist() == [0., 1e4, -1e4, 3.]
    assert out['e'].dtype == torch.float32 and out['e'][0] == 0.
    assert math.isfinite(out['e'][1].item())


def test_in_range_maps_come_back_untouched():
    t = dict(p=torch.rand(3, 4), o=torch.randn(2, 3) * 100)
    out = sanitize_tensors(t, dict(p='probability', o='offset'), (3, 4), 4.)
    assert out['p'] is t['p'] and out['o'] is t['o']


def test_configuration_errors():
    with pytest.raises(ValueError, match='stride'):
        sanitize_tensors(dict(p=torch.zeros(1)), dict(p='probability'),
                         (1, 1), float('nan'))
    with pytest.raises(ValueError, match='kind'):
        sanitize_tensors(dict(p=torch.zeros(1)), dict(p='mask'), (1, 1), 4.)
