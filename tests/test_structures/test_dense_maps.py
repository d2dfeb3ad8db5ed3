"""The named dense-map container."""
import pytest
import torch

from personlab_mm.structures import DenseMaps, FieldSpec

SPECS = dict(heat=FieldSpec('probability', (1, 0)),
             off=FieldSpec('offset', (1, 0), 'heat'),
             sem=FieldSpec('logits'), emb=FieldSpec('embedding'))


def _maps(B=2, H=3, W=4):
    return DenseMaps(
        dict(heat=torch.rand(B, 2, H, W), off=torch.randn(B, 2, 2, H, W),
             sem=torch.randn(B, 5, H, W), emb=torch.randn(B, 8, H, W)),
        SPECS, 4.)


def test_access_and_batches():
    maps = _maps()
    assert maps.batch_size == 2 and maps.grid_hw == (3, 4)
    assert set(maps) == set(SPECS) and 'sem' in maps
    one = maps.image(1)
    assert one.batch_size == 1 and torch.equal(one['off'][0], maps['off'][1])
    again = DenseMaps.cat(maps.unbatch())
    for name in maps:
        assert torch.equal(again[name], maps[name])
    assert maps.replace(sem=maps['sem'] * 0)['sem'].abs().sum() == 0
    assert 'logits (2, 5, 3, 4)' in repr(maps)


def test_sanitized_by_kind():
    maps = _maps()
    maps.tensors['heat'][0, 0, 0, 0] = float('nan')
    maps.tensors['sem'][1, 2, 1, 1] = float('inf')
    maps.tensors['off'][0, 0, 0, 0, 0] = -float('inf')
    clean = maps.sanitized()
    assert clean['heat'][0, 0, 0, 0] == 0 and clean['sem'][1, 2, 1, 1] == 1e4
    assert clean['off'][0, 0, 0, 0, 0] < -1e4
    assert all(torch.isfinite(clean[n]).all() for n in clean)


@pytest.mark.parametrize('tensors,msg', [
    (dict(heat=torch.rand(1, 2, 3, 4), x=torch.rand(1, 2, 3, 4)), 'no '
     'FieldSpec'),
    (dict(off=torch.rand(1, 2, 3, 4)), r'\(B, C, 2, H, W\)'),
    (dict(heat=torch.rand(1, 2, 3, 4), sem=torch.rand(1, 2, 3, 5)),
     'disagree'),
])
def test_bad_fields(tensors, msg):
    with pytest.raises(ValueError, match=msg):
        DenseMaps(tensors, SPECS, 4.)
    with pytest.raises(ValueError, match='kind'):
        DenseMaps(dict(x=torch.rand(1, 1, 2, 2)), dict(x=FieldSpec('mask')),
                  4.)
