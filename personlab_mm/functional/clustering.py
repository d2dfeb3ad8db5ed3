"""Flat-kernel mean-shift with bin seeding, batched in torch, and its
class-wise use for instance embeddings (PanoNet's instance clustering).

Semantics follow scikit-learn's ``MeanShift(bandwidth=b, bin_seeding=True,
cluster_all=True)`` where it matters (seeds from a grid of cell size ``b``,
the flat-kernel climb and its stop, the greedy removal of near-duplicate
modes by support), with three deliberate differences: seeds are the means
of their bins' points, points are labelled by the mode their bin's seed
climbed to (not by the nearest mode), and large inputs climb on a
subsample. All seeds climb together and every distance matrix is chunked,
so the same code runs on CPU and GPU with bounded memory and no Python
loop over points or modes.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor


class MeanShiftResult(NamedTuple):
    """Output of :func:`mean_shift`.

    Attributes:
        labels (Tensor): (N,) long mode of each point, in ``[0, M)``.
        modes (Tensor): (M, D) float32 modes, by support descending.
        support (Tensor): (M,) long points within the bandwidth of each
            mode (estimated on the full input when the climb subsamples).
    """
    labels: Tensor
    modes: Tensor
    support: Tensor


def _budget(device: torch.device) -> int:
    """Elements per distance matrix: 1M on the CPU, 64M on a GPU."""
    return 1 << 26 if device.type == 'cuda' else 1 << 20


def _window_means(queries: Tensor, density: Tensor, moments: Tensor,
                  bandwidth: float, rows: int) -> Tuple[Tensor, Tensor]:
    """Weighted mean and mass of the (P, D) density points within
    ``bandwidth`` of each (Q, D) query (flat kernel), ``rows`` queries per
    distance matrix; ``moments`` (D + 1, P) holds the weighted points
    ``w x`` over their weights ``w``.

    Distances take the expanded form ``|q|^2 + |p|^2 - 2 q.p`` (one
    matrix product), whose rounding error grows with the squared norms:
    both sides are centred on the chunk's queries first (seeds come in
    cell order, so a chunk is local), keeping it ~1e-7 of the local scale.

    Returns:
        tuple: means (Q, D) (the query itself where the mass is 0) and
        masses (Q,).
    """
    D = density.shape[1]
    out = queries.new_empty((D + 1, queries.shape[0]))
    ones = density.new_ones((density.shape[0], 1))
    for start in range(0, queries.shape[0], rows):
        q = queries[start:start + rows]
        centre = q.mean(dim=0)
        q, p = q - centre, density - centre
        # [2q, -|q|^2, 1] . [p, 1, r^2 - |p|^2] = r^2 - |q - p|^2: one
        # product, >= 0 inside the flat kernel (1. there, else 0.)
        near = torch.mm(
            torch.cat([2 * q, -q.square().sum(1, keepdim=True),
                       torch.ones_like(q[:, :1])], 1),
            torch.cat([p, ones, bandwidth**2 - p.square().sum(1, True)],
                      1).T)
        near.ge_(0)
        out[:, start:start + rows] = moments @ near.T
    mass = out[D]
    means = (out[:D] / mass.clamp(min=1e-12)).T
    return torch.where(mass[:, None] > 0, means, queries), mass


def _distances(a: Tensor, b: Tensor) -> Tensor:
    """(A, B) Euclidean distances, exact (no matrix-product form)."""
    return torch.cdist(a[None], b[None],
                       compute_mode='donot_use_mm_for_euclid_dist')[0]


def _nearest(points: Tensor, centres: Tensor, rows: int) -> Tensor:
    """Index of the nearest centre (ties: the first) of each point."""
    out = torch.empty(points.shape[0], dtype=torch.long,
                      device=points.device)
    for start in range(0, points.shape[0], rows):
        out[start:start + rows] = _distances(points[start:start + rows],
                                             centres).argmin(dim=1)
    return out


def _bins(coords: Tensor, bandwidth: float) -> Tuple[Tensor, Tensor]:
    """Grid cell of size ``bandwidth`` of every point (scikit-learn's
    ``round(x / bandwidth)``, half to even), from the (D, N) coordinates.

    Cells are keyed collision-free in int64, one dimension at a time
    (mixed radix over each dimension's range; the key is compacted to its
    rank among the occupied cells before it would overflow).

    Returns:
        tuple: inverse (N,) long cell of each point in ``[0, U)`` (cells
        in lexicographic order of their coordinates) and counts (U,) long.
    """
    D, N = coords.shape
    key = torch.zeros(N, dtype=torch.long, device=coords.device)
    span = 1
    for d in range(D):  # per row: small temporaries
        cell = torch.round(coords[d] / bandwidth)
        low, high = (int(v) for v in torch.stack(cell.aminmax()).tolist())
        column = cell.long() - low
        radix = high - low + 1
        if radix > N:  # sparse range: ranks instead
            _, column = torch.unique(column, return_inverse=True)
            radix = int(column.max()) + 1
        if span * radix >= 1 << 62:
            _, key = torch.unique(key, return_inverse=True)
            span = int(key.max()) + 1
        key.mul_(radix).add_(column)
        span *= radix
    _, inverse, counts = torch.unique(key, return_inverse=True,
                                      return_counts=True)
    return inverse, counts


def greedy_merge(near: Tensor) -> Tensor:
    """Greedy removal of near-duplicate modes, in parallel rounds.

    Sequentially: a mode is kept unless a kept mode earlier in the order is
    near it. Here every round keeps the undecided modes with no earlier
    near mode still undecided or kept, then drops the undecided modes near
    an earlier kept one. The first undecided mode is decided in every
    round, so at most ``S`` rounds (as many as the longest chain of
    dependent decisions, a few in practice); the result equals the
    sequential one exactly.

    Args:
        near (Tensor): (S, S) bool, symmetric, ``near[i, j]``: modes ``i``
            and ``j`` are within the bandwidth; modes in priority order
            (support descending).

    Returns:
        Tensor: (S,) bool, the modes kept.
    """
    S = near.shape[0]
    index = torch.arange(S, device=near.device)
    earlier = near & (index[None] < index[:, None])
    kept = torch.zeros(S, dtype=torch.bool, device=near.device)
    undecided = torch.ones_like(kept)
    for _ in range(S):
        blocked = (earlier & (undecided | kept)[None]).any(dim=1)
        kept |= undecided & ~blocked
        undecided &= ~kept & ~(earlier & kept[None]).any(dim=1)
        if not bool(undecided.any()):
            break
    return kept


def _check(points: Tensor, bandwidth: float) -> float:
    if points.dim() != 2:
        raise ValueError('mean_shift: points must be (N, D), got shape '
                         f'{tuple(points.shape)}')
    value = float(bandwidth)
    if not 0 < value < float('inf'):
        raise ValueError('mean_shift: bandwidth must be a finite positive '
                         f'number, got {bandwidth!r}')
    # one reduction; the elementwise check only if it is not finite
    if not bool(torch.isfinite(points.sum())) and \
            not bool(torch.isfinite(points).all()):
        raise ValueError('mean_shift: points contain NaN/inf; sanitise '
                         'embeddings first')
    return value


def mean_shift(points: Tensor,
               bandwidth: float,
               *,
               max_iter: int = 300,
               min_bin_freq: int = 1,
               max_seeds: int = 1024,
               max_density_points: int = 16384,
               generator: Optional[torch.Generator] = None,
               chunk_size: Optional[int] = None) -> MeanShiftResult:
    """Flat-kernel mean-shift with bin seeding.

    1. Seeds: the points are binned on a grid of cell size ``bandwidth``;
       every cell with at least ``min_bin_freq`` points seeds at the mean
       of its points (inside the cluster, unlike the cell corner). With
       more than ``max_seeds`` such cells only the ``max_seeds`` most
       populated seed (ties: lexicographic cell order). When no cell
       passes ``min_bin_freq`` the most populated one seeds anyway.
    2. Climb: every seed moves to the mean of the density points within
       ``bandwidth`` (flat kernel) until it moves by at most
       ``1e-3 * bandwidth`` or after ``max_iter`` moves; a seed with no
       point within reach stays. The density points are the points, or
       when ``N > max_density_points`` a uniformly random subsample of
       ``max_density_points`` of them (from ``generator``; default a fixed
       seed, so results are deterministic), plus, with weight ``count x
       max_density_points / N``, the mean of every seeded cell none of
       whose points was drawn: a small isolated cluster is never lost to
       the subsample.
    3. Support: the (weighted) density points within ``bandwidth`` of the
       position a seed stopped from (scikit-learn's intensity), counted in
       input points (scaled by ``N / max_density_points`` when
       subsampling). Seeds without support (rare: a cell's diagonal is
       ``sqrt(D)`` bandwidths, so its mean may be out of reach of all its
       points) are discarded.
    4. Merge: seeds in order of support (descending, ties: seed order)
       are kept unless within ``bandwidth`` of a kept one
       (:func:`greedy_merge`).
    5. Labels: a point takes the kept mode that absorbed its cell's seed
       (the strongest kept mode within ``bandwidth`` of where the seed
       stopped), i.e. the mode it climbed to. Points of unseeded cells
       (``min_bin_freq`` or ``max_seeds`` cut, or a seed without support)
       take the nearest kept mode.

    Args:
        points (Tensor): (N, D) finite embeddings, any D; computed in
            float32 on their device.
        bandwidth (float): Radius of the flat kernel and the grid's cell
            size, > 0.
        max_iter (int): Most moves of a seed.
        min_bin_freq (int): Fewest points of a seeding cell.
        max_seeds (int): Most seeds (the merge holds a (seeds, seeds)
            matrix).
        max_density_points (int): Largest density set before subsampling.
        generator (torch.Generator, optional): Draws the subsample (on its
            device); default: CPU, seed 0.
        chunk_size (int, optional): Rows (seeds or points) per distance
            matrix; default: about a million distances on the CPU, 64
            million on a GPU.

    Returns:
        MeanShiftResult: labels (N,) long, modes (M, D) float32 by support
        descending, support (M,) long; ``M >= 1`` when ``N > 0``, empty
        results when ``N == 0``.

    Raises:
        ValueError: On non-(N, D) points, NaN/inf in the points, or a
            bandwidth that is not finite and positive.
    """
    bandwidth = _check(points, bandwidth)
    points = points.float()
    N, D = points.shape
    device = points.device
    if N == 0:
        return MeanShiftResult(
            torch.zeros(0, dtype=torch.long, device=device),
            points.new_zeros((0, D)),
            torch.zeros(0, dtype=torch.long, device=device))
    # seeds: means of the most populated cells
    coords = points.T.contiguous()  # (D, N): a no-op for a (D, N) view
    inverse, counts = _bins(coords, bandwidth)
    U = counts.shape[0]
    cell_means = (points.new_zeros((D, U)).index_add_(1, inverse, coords) /
                  counts.float()).T
    order = torch.sort(counts, descending=True, stable=True).indices
    S = max(1, min(max_seeds, int((counts >= min_bin_freq).sum())))
    seed_cells = order[:S].sort().values  # cell order: coherent chunks
    seeds = cell_means[seed_cells]
    # density: the points or a subsample plus undrawn seeded cells' means
    scale = 1.
    density, weight = points, points.new_ones(N)
    if N > max_density_points:
        m = max_density_points
        gen_device = generator.device if generator is not None else 'cpu'
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        drawn = torch.randperm(N, generator=generator,
                               device=gen_device)[:m].to(device)
        hits = torch.bincount(inverse[drawn], minlength=U)[seed_cells]
        missed = seed_cells[hits == 0]
        scale = N / m
        density = torch.cat([points[drawn], cell_means[missed]])
        weight = torch.cat([points.new_ones(m),
                            counts[missed].float() / scale])
    rows = chunk_size or max(1, _budget(device) // density.shape[0])
    modes, support = _climb(seeds, density, weight, bandwidth, max_iter, rows)
    if not bool((support > 0).any()):  # no seed had support: start at
        # a density point (pathological: cells far wider than clusters)
        seed_cells = seed_cells[:0]
        modes, support = _climb(density[:1], density, weight, bandwidth,
                                max_iter, rows)
    # merge, strongest first
    rank = torch.sort(support, descending=True, stable=True).indices
    rank = rank[support[rank] > 0]
    near = _distances(modes[rank], modes[rank]) <= bandwidth
    kept = greedy_merge(near)
    absorber = (near & kept[None]).to(torch.uint8).argmax(dim=1)
    mode_index = torch.cumsum(kept, 0) - 1  # sorted seed -> kept mode
    seed_mode = torch.full_like(support, -1, dtype=torch.long)
    seed_mode[rank] = mode_index[absorber]
    # labels: through the cell's seed, else the nearest mode
    cell_mode = torch.full((U, ), -1, dtype=torch.long, device=device)
    cell_mode[seed_cells] = seed_mode[:seed_cells.shape[0]]
    labels = cell_mode[inverse]
    modes, support = modes[rank[kept]], support[rank[kept]]
    lost = (labels < 0).nonzero().squeeze(1)
    if lost.numel():
        labels[lost] = _nearest(points[lost], modes,
                                chunk_size or max(1, _budget(device) //
                                                  modes.shape[0]))
    support = torch.round(support * scale).long()
    return MeanShiftResult(labels, modes, support)


def _climb(seeds: Tensor, density: Tensor, weight: Tensor, bandwidth: float,
           max_iter: int, rows: int) -> Tuple[Tensor, Tensor]:
    """All seeds climb together; a seed stops once its move is at most
    ``1e-3 * bandwidth`` (scikit-learn's threshold).

    Returns:
        tuple: final positions (S, D) and support (S,), the mass within
        ``bandwidth`` of the position each seed last moved from.
    """
    moments = torch.cat([density * weight[:, None], weight[:, None]],
                        1).T.contiguous()
    position = seeds.clone()
    support = seeds.new_zeros(seeds.shape[0])
    active = torch.arange(seeds.shape[0], device=seeds.device)
    for _ in range(max_iter):
        old = position[active]
        new, mass = _window_means(old, density, moments, bandwidth, rows)
        position[active], support[active] = new, mass
        moving = (new - old).norm(dim=1) > 1e-3 * bandwidth
        active = active[moving]
        if active.numel() == 0:
            break
    return position, support


def class_wise_mean_shift(embedding: Tensor,
                          semantic: Tensor,
                          bandwidths: Tensor,
                          separation: float = 4.,
                          **kwargs) -> Tuple[Tensor, Tensor]:
    """Instances of every thing class by mean-shift over its pixels'
    embeddings with the class's bandwidth, all classes in one
    :func:`mean_shift`.

    Each clustered pixel's embedding is divided by its class's bandwidth
    (unit bandwidth for all) and preceded by one coordinate, the rank of
    its class among the clustered classes times ``separation``: pixels of
    different classes are at least ``separation`` (> 1, the kernel radius)
    apart, so no cell, window or merge ever mixes classes, and a mode's
    class is read back from its first coordinate. A pixel whose mode is
    of another class (only possible through the nearest-mode fallback,
    when its class lost all its seeds to the ``max_seeds`` cut) is left
    unclustered.

    Args:
        embedding (Tensor): (D, H, W) per-pixel embeddings (finite on the
            clustered pixels).
        semantic (Tensor): (H, W) long class per pixel; values outside
            ``[0, C)`` are not clustered.
        bandwidths (Tensor): (C,) bandwidth of each class in embedding
            units; a class with a bandwidth ``<= 0`` or NaN (stuff) is not
            clustered.
        separation (float): Class coordinate spacing in bandwidths, > 1.
        **kwargs: Passed to :func:`mean_shift`.

    Returns:
        tuple: ids (H, W) long, 0 for pixels not clustered, instances
        numbered ``1..K`` by class ascending, then support descending; and
        labels (K,) long, the class of each instance.

    Raises:
        ValueError: On mismatched shapes or ``separation <= 1``, and as
            :func:`mean_shift` does.
    """
    if embedding.dim() != 3 or semantic.shape != embedding.shape[1:] or \
            bandwidths.dim() != 1:
        raise ValueError(
            'class_wise_mean_shift: expected embedding (D, H, W), semantic '
            f'(H, W) and bandwidths (C,), got {tuple(embedding.shape)}, '
            f'{tuple(semantic.shape)} and {tuple(bandwidths.shape)}')
    if not separation > 1:
        raise ValueError('class_wise_mean_shift: separation must exceed 1 '
                         f'bandwidth, got {separation}')
    D, H, W = embedding.shape
    device = embedding.device
    C = bandwidths.shape[0]
    bandwidths = bandwidths.to(device=device, dtype=torch.float32)
    clustered = torch.nan_to_num(bandwidths, nan=0.) > 0
    flat = semantic.reshape(-1).to(device)
    lookup = torch.cat([clustered, clustered.new_zeros(1)])  # C: none
    flat = torch.where((flat >= 0) & (flat < C), flat, C)
    pixels = lookup[flat].nonzero().squeeze(1)
    cls = flat[pixels]
    class_rank = torch.cumsum(clustered, 0) - 1
    # (1 + D, N) viewed as (N, 1 + D): each coordinate stays contiguous;
    # the class first: cells (and so seed chunks) come grouped by class
    source = embedding.reshape(D, -1).float()
    points = source.new_empty((D + 1, pixels.shape[0]))
    points[0] = class_rank[cls] * separation
    torch.index_select(source, 1, pixels, out=points[1:])
    points[1:] /= bandwidths[cls]
    result = mean_shift(points.T, 1., **kwargs)
    rank_class = clustered.nonzero().squeeze(1)
    mode_rank = torch.round(result.modes[:, 0] / separation).long()
    mode_class = rank_class[mode_rank.clamp(0, max(rank_class.numel() - 1,
                                                   0))]
    same = mode_class[result.labels] == cls
    member, pixels = result.labels[same], pixels[same]
    # modes with pixels, by class then support (modes come by support)
    M = result.modes.shape[0]
    used = torch.bincount(member, minlength=M) > 0
    order = torch.sort(mode_class, stable=True).indices
    order = order[used[order]]
    number = torch.zeros(M, dtype=torch.long, device=device)
    number[order] = torch.arange(1, order.numel() + 1, device=device)
    ids = torch.zeros(H * W, dtype=torch.long, device=device)
    ids[pixels] = number[member]
    return ids.view(H, W), mode_class[order]
