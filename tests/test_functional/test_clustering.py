"""Bin-seeded mean-shift against scikit-learn's MeanShift, a sequential
greedy merge and hand-made cases; class-wise instance clustering."""
import numpy as np
import pytest
import torch

from personlab_mm.functional.clustering import (MeanShiftResult,
                                                class_wise_mean_shift,
                                                greedy_merge, mean_shift)


def _separated_centres(rng, k, dim, min_dist, box):
    """``k`` random centres at least ``min_dist`` apart (rejection)."""
    centres = []
    while len(centres) < k:
        c = rng.uniform(-box, box, dim)
        if all(np.linalg.norm(c - o) >= min_dist for o in centres):
            centres.append(c)
    return np.stack(centres)


def _blobs(seed, n, k, dim, std, min_dist, box, grid=None):
    """Gaussian blobs and their true labels, in numpy (float64)."""
    rng = np.random.RandomState(seed)
    centres = _separated_centres(rng, k, dim, min_dist, box)
    if grid is not None:  # centres on the bin grid
        centres = np.round(centres / grid) * grid
    truth = rng.randint(0, k, n)
    x = centres[truth] + rng.normal(0, std, (n, dim))
    return x, truth


def _sklearn_labels(x, bandwidth):
    cluster = pytest.importorskip('sklearn.cluster')
    return cluster.MeanShift(bandwidth=bandwidth,
                             bin_seeding=True).fit(x).labels_


def _ari(a, b):
    metrics = pytest.importorskip('sklearn.metrics')
    return metrics.adjusted_rand_score(a, b)


def _assert_partition(labels, truth):
    """``labels`` and ``truth`` are the same partition."""
    pairs = np.unique(np.stack([labels, truth]), axis=1).shape[1]
    assert pairs == len(np.unique(labels)) == len(np.unique(truth))


# scikit-learn seeds at cell corners: in 12-D a corner is ~bandwidth away
# from a blob off the grid, so its blobs sit on the grid for a fair match
@pytest.mark.parametrize('dim,k,std,bandwidth,grid', [
    (2, 5, 0.3, 1.5, None), (3, 8, 0.3, 1.5, None), (12, 6, 0.1, 0.5, 0.5)
])
@pytest.mark.parametrize('seed', range(3))
def test_agrees_with_sklearn_on_blobs(dim, k, std, bandwidth, grid, seed):
    datasets = pytest.importorskip('sklearn.datasets')
    centres = _separated_centres(np.random.RandomState(seed), k, dim,
                                 4 * bandwidth, 6 * bandwidth)
    if grid is not None:
        centres = np.round(centres / grid) * grid
    x, truth = datasets.make_blobs(3000, centers=centres, cluster_std=std,
                                   random_state=seed)
    expected = _sklearn_labels(x, bandwidth)
    result = mean_shift(torch.from_numpy(x), bandwidth)
    assert isinstance(result, MeanShiftResult)
    labels = result.labels.numpy()
    assert result.modes.shape == (k, dim) and result.modes.dtype == \
        torch.float32
    assert len(np.unique(expected)) == len(np.unique(labels)) == k
    assert _ari(expected, labels) >= 0.99
    assert (result.support[:-1] >= result.support[1:]).all()
    assert int(result.support.sum()) >= 0.95 * len(x)


def test_subsampled_density_agrees_with_sklearn():
    x, _ = _blobs(3, 5000, 5, 3, 0.3, 6., 9.)
    expected = _sklearn_labels(x, 1.5)
    result = mean_shift(torch.from_numpy(x), 1.5, max_density_points=500)
    assert len(np.unique(result.labels.numpy())) == 5
    assert _ari(expected, result.labels.numpy()) >= 0.99
    # support counts input points, not subsample points
    assert abs(int(result.support.sum()) - 5000) < 250
    again = mean_shift(torch.from_numpy(x), 1.5, max_density_points=500)
    assert torch.equal(again.labels, result.labels)
    assert torch.equal(again.modes, result.modes)


def test_subsample_keeps_small_isolated_cluster():
    x, truth = _blobs(4, 20000, 3, 12, 0.1, 4., 3.)
    x = np.concatenate([x, np.full((3, 12), 9.)])  # 3 points, far away
    result = mean_shift(torch.from_numpy(x), 0.5, max_density_points=256)
    labels = result.labels.numpy()
    _assert_partition(labels, np.concatenate([truth, [3, 3, 3]]))


def test_labels_follow_the_climb_not_the_nearest_mode():
    g = torch.Generator().manual_seed(0)
    big = torch.randn(3000, 2, generator=g) * 0.1
    small = torch.randn(60, 2, generator=g) * 0.1 + torch.tensor([6., 0.])
    # a tail out of the big blob, thinning with the distance to it
    x = 0.3 + 3.6 * torch.linspace(0, 1, 800)**2
    tail = torch.stack([x, 0.02 * torch.randn(800, generator=g)], 1)
    result = mean_shift(torch.cat([big, small, tail]), 1.)
    assert result.modes.shape[0] == 2
    labels = result.labels
    big_label, small_label = int(labels[0]), int(labels[3000])
    assert big_label != small_label
    far = tail[:, 0] > 3.2  # nearer to the small mode than the big one
    modes = result.modes
    nearest = torch.cdist(tail[far], modes).argmin(dim=1)
    assert far.sum() > 10 and (nearest == small_label).all()
    assert (labels[3060:][far] == big_label).all()
    assert (labels[:3000] == big_label).all()
    assert (labels[3000:3060] == small_label).all()


def _sequential_merge(near):
    kept = []
    for i in range(near.shape[0]):
        if not any(near[i, j] for j in kept):
            kept.append(i)
    out = np.zeros(near.shape[0], dtype=bool)
    out[kept] = True
    return out


@pytest.mark.parametrize('seed', range(20))
def test_greedy_merge_equals_sequential(seed):
    g = torch.Generator().manual_seed(seed)
    S = int(torch.randint(1, 80, (1, ), generator=g))
    D = int(torch.randint(1, 5, (1, ), generator=g))
    positions = torch.rand(S, D, generator=g) * 4
    support = torch.randint(1, 6, (S, ), generator=g)
    order = torch.sort(support, descending=True, stable=True).indices
    near = torch.cdist(positions[order], positions[order]) <= 1.
    kept = greedy_merge(near)
    np.testing.assert_array_equal(kept.numpy(),
                                  _sequential_merge(near.numpy()))


def test_greedy_merge_long_chain():
    # each mode near the next: decided one round at a time, alternately
    near = torch.cdist(*[torch.arange(50.)[:, None] * 0.9] * 2) <= 1.
    kept = greedy_merge(near)
    assert kept.tolist() == [i % 2 == 0 for i in range(50)]
    assert greedy_merge(torch.zeros(0, 0, dtype=torch.bool)).shape == (0, )


def test_chunking_invariance():
    x, _ = _blobs(1, 2000, 4, 3, 0.3, 6., 9.)
    points = torch.from_numpy(x)
    a = mean_shift(points, 1.5)
    b = mean_shift(points, 1.5, chunk_size=7)
    assert torch.equal(a.labels, b.labels)
    assert torch.equal(a.support, b.support)
    torch.testing.assert_close(a.modes, b.modes, atol=1e-5, rtol=0)


@pytest.mark.parametrize('dim', [1, 64])
def test_any_dimension(dim):
    x, truth = _blobs(dim, 1000, 4, dim, 0.05, 3., 8.)
    _assert_partition(mean_shift(torch.from_numpy(x), 0.5).labels.numpy(),
                      truth)


def test_degenerate_inputs():
    empty = mean_shift(torch.zeros(0, 5), 1.)
    assert empty.labels.shape == (0, ) and empty.modes.shape == (0, 5)
    assert empty.support.shape == (0, )
    same = mean_shift(torch.full((100, 3), 2.5), 0.1)
    assert (same.labels == 0).all() and same.modes.shape == (1, 3)
    assert same.support.tolist() == [100]
    torch.testing.assert_close(same.modes, torch.full((1, 3), 2.5))
    # one isolated point is a cluster of its own
    g = torch.Generator().manual_seed(0)
    x = torch.cat([
        torch.randn(500, 4, generator=g) * 0.05,
        torch.full((1, 4), 5.)
    ])
    result = mean_shift(x, 0.5)
    assert result.modes.shape[0] == 2 and result.support.tolist() == [500, 1]
    assert result.labels[-1] == 1 and (result.labels[:-1] == 0).all()
    # min_bin_freq above every cell still gives a mode
    assert mean_shift(x, 0.5, min_bin_freq=10**6).modes.shape[0] >= 1


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_points_raise(value):
    x = torch.zeros(10, 3)
    x[4, 1] = value
    with pytest.raises(ValueError, match='points contain NaN/inf'):
        mean_shift(x, 1.)


@pytest.mark.parametrize('bandwidth', [0., -1., float('nan'), float('inf')])
def test_bad_bandwidth_raises(bandwidth):
    with pytest.raises(ValueError, match='bandwidth'):
        mean_shift(torch.zeros(10, 3), bandwidth)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r'\(N, D\)'):
        mean_shift(torch.zeros(10), 1.)
    with pytest.raises(ValueError, match='embedding'):
        class_wise_mean_shift(torch.zeros(2, 4, 4), torch.zeros(4, 5).long(),
                              torch.ones(3))


def _two_blob_map(g, H=20, W=30, D=3, gap=1.):
    """Left and right halves: two tight blobs ``gap`` apart."""
    emb = torch.randn(D, H, W, generator=g) * 0.02
    emb[0, :, W // 2:] += gap
    return emb


def test_class_wise_separates_classes_and_respects_bandwidths():
    g = torch.Generator().manual_seed(0)
    emb = _two_blob_map(g)
    semantic = torch.zeros(20, 30, dtype=torch.long)
    semantic[10:] = 2  # same embeddings, another class
    ids, labels = class_wise_mean_shift(emb, semantic,
                                        torch.tensor([0.3, 0., 0.3]))
    assert labels.tolist() == [0, 0, 2, 2]
    assert sorted(ids.unique().tolist()) == [1, 2, 3, 4]
    assert (labels[ids - 1] == semantic).all()
    assert ids[0, 0] != ids[0, -1] and ids[0, 0] != ids[-1, 0]
    # class 2 with a bandwidth wider than the gap: one instance
    ids, labels = class_wise_mean_shift(emb, semantic,
                                        torch.tensor([0.3, 0., 3.]))
    assert labels.tolist() == [0, 0, 2]
    assert (ids[10:] == 3).all() and sorted(ids.unique().tolist()) == [
        1, 2, 3
    ]


def test_class_wise_unclustered_and_empty_classes():
    g = torch.Generator().manual_seed(1)
    emb = _two_blob_map(g)
    semantic = torch.full((20, 30), 1, dtype=torch.long)
    semantic[:5] = 3  # NaN bandwidth
    semantic[5:8] = 255  # outside the classes
    semantic[8:12] = 0  # bandwidth 0
    bandwidths = torch.tensor([0., 0.3, 0.3, float('nan')])  # 2: empty
    ids, labels = class_wise_mean_shift(emb, semantic, bandwidths)
    assert (ids[:12] == 0).all() and (ids[12:] > 0).all()
    assert labels.tolist() == [1, 1]
    assert sorted(ids.unique().tolist()) == [0, 1, 2]
    # support descending within the class: the bigger half first
    semantic[12:, 20:] = 0
    ids, labels = class_wise_mean_shift(emb, semantic, bandwidths)
    assert ids[-1, 0] == 1 and ids[-1, 16] == 2 and (ids[:, 20:] == 0).all()
    none, no_labels = class_wise_mean_shift(emb, semantic, torch.zeros(4))
    assert (none == 0).all() and no_labels.shape == (0, )


def test_class_wise_all_equal_embeddings_and_single_pixel():
    emb = torch.ones(12, 16, 16)
    semantic = torch.ones(16, 16, dtype=torch.long)
    ids, labels = class_wise_mean_shift(emb, semantic, torch.tensor([0., .5]))
    assert (ids == 1).all() and labels.tolist() == [1]
    emb[:, 3, 4] = -3.  # one pixel far away in embedding space
    ids, labels = class_wise_mean_shift(emb, semantic, torch.tensor([0., .5]))
    assert ids[3, 4] == 2 and (ids == 2).sum() == 1 and labels.tolist() == [
        1, 1
    ]


def test_class_wise_recovers_120_instances_in_12d():
    x, truth = _blobs(7, 120 * 40, 120, 12, 0.07, 2.5, 3.)
    emb = torch.from_numpy(x).float().T.reshape(12, 60, 80)
    semantic = torch.full((60, 80), 2, dtype=torch.long)
    ids, labels = class_wise_mean_shift(emb, semantic,
                                        torch.tensor([0., 0., .5]))
    assert labels.shape == (120, ) and (labels == 2).all()
    _assert_partition(ids.reshape(-1).numpy(), truth)
