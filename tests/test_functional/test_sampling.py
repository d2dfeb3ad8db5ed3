"""The one bilinear family: both access patterns agree with each other and
with hand-computed values; gradients reach fields and offsets."""
import pytest
import torch

from personlab_mm.functional import (bilinear_corners, gather_bilinear,
                                     resample_separable, sample_at_offsets,
                                     sample_bilinear, sample_points)


def _field(C=3, D=2, H=5, W=7, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(C, D, H, W, generator=gen, dtype=torch.float64)


def test_gather_by_hand(device):
    field = torch.zeros(1, 1, 2, 2, dtype=torch.float64)
    field[0, 0] = torch.tensor([[1., 2.], [3., 4.]])
    # stride 4: (2, 1) px is cell (0.5, 0.25)
    xy = torch.tensor([[2., 1.], [0., 0.], [4., 4.], [6., 0.]],
                      dtype=torch.float64)
    got = gather_bilinear(field.to(device), torch.zeros(4, dtype=torch.long,
                                                        device=device),
                          xy.to(device), 4.)
    want = [0.75 * (0.5 * 1 + 0.5 * 2) + 0.25 * (0.5 * 3 + 0.5 * 4), 1., 4.,
            0.5 * 2]  # the last one half a cell beyond the border
    torch.testing.assert_close(got[:, 0].cpu(),
                               torch.tensor(want, dtype=torch.float64))


def test_corners_of_non_finite_and_far_points_weigh_nothing():
    xy = torch.tensor([[float('nan'), 3.], [1e9, 1.], [-40., 2.]])
    _, weights = bilinear_corners(xy, 4., 5, 5)
    assert (weights == 0).all()


def test_both_access_patterns_agree(device):
    field = _field().to(device)
    C, D, H, W = field.shape
    gen = torch.Generator().manual_seed(1)
    gx = torch.rand(50, generator=gen, dtype=torch.float64) * (W + 2) - 1.5
    gy = torch.rand(50, generator=gen, dtype=torch.float64) * (H + 2) - 1.5
    channel = torch.randint(0, C, (50, ), generator=gen)
    sparse = gather_bilinear(field, channel.to(device),
                             torch.stack([gx, gy], 1).to(device) * 8., 8.)
    dense = sample_points(field.reshape(C * D, H, W), gx.to(device),
                          gy.to(device)).view(C, D, 50)
    picked = dense[channel.to(device), :, torch.arange(50, device=device)]
    torch.testing.assert_close(sparse, picked, atol=1e-12, rtol=0)


def test_sample_bilinear_two_dimensional_positions():
    maps = _field(C=1, D=3)[0][None]  # (1, 3, 5, 7)
    gx = torch.arange(7, dtype=torch.float64)[None, None].expand(1, 5, 7)
    gy = torch.arange(5, dtype=torch.float64)[None, :, None].expand(1, 5, 7)
    # cell centres give the maps back
    torch.testing.assert_close(sample_bilinear(maps, gx, gy), maps)


def test_sample_at_offsets_reads_the_field_where_offsets_point(device):
    B, C, H, W = 1, 2, 4, 6
    field = torch.arange(B * C * 2 * H * W, dtype=torch.float32).view(
        B, C, 2, H, W).to(device)
    offsets = torch.zeros(B, C, 2, H, W, device=device)
    offsets[:, :, 0] = 8.  # one cell to the right at stride 8
    out = sample_at_offsets(field, offsets, 8.)
    torch.testing.assert_close(out[..., :-1], field[..., 1:])
    assert (out[..., -1] == 0).all()  # beyond the grid: zeros


def test_sample_at_offsets_is_differentiable_in_both():
    field = torch.randn(1, 1, 2, 4, 4, requires_grad=True)
    offsets = (torch.rand(1, 1, 2, 4, 4) * 6.).requires_grad_()
    sample_at_offsets(field, offsets, 4.).sum().backward()
    assert field.grad.abs().sum() > 0 and offsets.grad.abs().sum() > 0


def test_resample_separable_mirrors():
    maps = torch.arange(12, dtype=torch.float32).view(1, 1, 3, 4)
    gx = torch.arange(3, -1, -1, dtype=torch.float32)
    gy = torch.arange(3, dtype=torch.float32)
    torch.testing.assert_close(resample_separable(maps, gx, gy),
                               maps.flip(-1))
    half = resample_separable(maps, torch.tensor([0.5]), torch.tensor([0.]))
    assert half.item() == pytest.approx(0.5)
