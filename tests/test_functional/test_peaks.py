"""Window peaks: value and mass scores, kernels, ties, fixed shapes,
sub-cell centroids."""
import pytest
import torch

from personlab_mm.functional import find_peaks, window_centroid


def test_value_peaks_with_a_larger_kernel():
    maps = torch.zeros(1, 9, 9)
    maps[0, 2, 2], maps[0, 3, 4], maps[0, 7, 7] = 0.9, 0.5, 0.3
    p3 = find_peaks(maps, 0.2, 10, kernel=3)
    assert p3.scores.tolist() == pytest.approx([0.9, 0.5, 0.3])
    # (3, 4) is within 2 cells of (2, 2): suppressed by a 5x5 window
    p5 = find_peaks(maps, 0.2, 10, kernel=5)
    assert list(zip(p5.iy.tolist(), p5.ix.tolist())) == [(2, 2), (7, 7)]
    assert find_peaks(maps, 0.4, 10).scores.numel() == 2  # threshold
    assert find_peaks(maps, 0.2, 1).scores.numel() == 1  # top-k


def test_mass_peaks_and_centroid():
    maps = torch.zeros(1, 5, 5)
    maps[0, 2, 2], maps[0, 2, 3] = 0.006, 0.002  # mass 0.008 < 0.01
    assert find_peaks(maps, 0.01, 10, score='mass').scores.numel() == 0
    maps[0, 1, 2] = 0.004
    peaks = find_peaks(maps, 0.01, 10, score='mass')
    assert peaks.scores.tolist() == pytest.approx([0.012])
    xy = window_centroid(peaks.windows, peaks.iy, peaks.ix)
    want = [2 + 0.002 / 0.012, 2 - 0.004 / 0.012]
    assert xy[0].tolist() == pytest.approx(want)


def test_ties_are_broken_by_channel_then_position():
    maps = torch.zeros(2, 9, 9)
    for k, y, x in ((1, 2, 2), (0, 6, 6), (0, 2, 6), (1, 6, 2)):
        maps[k, y, x] = 0.5
    peaks = find_peaks(maps, 0.01, 10, score='mass')
    assert peaks.channel.tolist() == [0, 0, 1, 1]
    assert list(zip(peaks.ix.tolist(), peaks.iy.tolist())) == [
        (6, 2), (6, 6), (2, 2), (2, 6)]


def test_fixed_shapes_give_the_valid_peaks_first():
    gen = torch.Generator().manual_seed(0)
    maps = torch.rand(3, 12, 10, generator=gen) ** 6
    eager = find_peaks(maps, 0.05, 200, score='mass')
    fixed = find_peaks(maps, 0.05, 200, score='mass', fixed=True)
    N = eager.scores.numel()
    assert 5 < N < 200 and fixed.scores.numel() == 200
    assert fixed.valid[:N].all() and not fixed.valid[N:].any()
    for a, b in zip(eager, fixed):
        assert torch.equal(a, b[:N])


def test_bad_arguments():
    with pytest.raises(ValueError, match='kernel'):
        find_peaks(torch.zeros(1, 3, 3), 0.1, 5, kernel=4)
    with pytest.raises(ValueError, match='score'):
        find_peaks(torch.zeros(1, 3, 3), 0.1, 5, score='max')
