"""Kinematic-tree following and greedy acceptance of seeds: the grouping
steps of bottom-up pose decoding (used by PersonLab Sec. 3.1)."""
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .sampling import bilinear_corners, gather_cells, gather_corners
from .voting import snap_to_votes, voter_mean, window_cells


def tree_traversals(edges: Sequence[Tuple[int, int]],
                    num_keypoints: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Breadth-first levels of the kinematic tree from every root keypoint.

    Args:
        edges (Sequence[Tuple[int, int]]): Directed edges (both directions
            of every tree edge).
        num_keypoints (int): K.

    Returns:
        tuple: ``edge``, ``parent`` and ``child`` long tensors of shape
        (K, D, M), D the deepest level and M the most edges of a level:
        at level ``d`` the traversal rooted at ``r`` follows the directed
        edges ``edge[r, d]`` from ``parent[r, d]`` (placed at an earlier
        level) to ``child[r, d]``. Padding entries are ``edge = 0`` and
        ``parent = child = K`` (a scratch slot).
    """
    lookup = {tuple(e): i for i, e in enumerate(edges)}
    neighbours = [[] for _ in range(num_keypoints)]
    for k, child in edges:
        neighbours[k].append(child)
    levels = []  # per root: list of levels, each a list of (e, p, c)
    for root in range(num_keypoints):
        seen, frontier, root_levels = {root}, [root], []
        while frontier:
            level = []
            for k in frontier:
                for child in neighbours[k]:
                    if child not in seen:
                        seen.add(child)
                        level.append((lookup[(k, child)], k, child))
            if level:
                root_levels.append(level)
            frontier = [c for _, _, c in level]
        if len(seen) != num_keypoints:
            raise ValueError('the kinematic tree does not reach every '
                             f'keypoint from keypoint {root}')
        levels.append(root_levels)
    D = max(len(lv) for lv in levels)
    M = max(len(level) for lv in levels for level in lv)
    K = num_keypoints
    edge = torch.zeros((K, D, M), dtype=torch.long)
    parent = torch.full((K, D, M), K, dtype=torch.long)
    child = torch.full((K, D, M), K, dtype=torch.long)
    for r, root_levels in enumerate(levels):
        for d, level in enumerate(root_levels):
            for m, (e, p, c) in enumerate(level):
                edge[r, d, m], parent[r, d, m], child[r, d, m] = e, p, c
    return edge, parent, child


def follow_tree(seed_xy: Tensor,
                seed_kpt: Tensor,
                mid_offsets: Tensor,
                stride: float,
                traversals: Tuple[Tensor, Tensor, Tensor],
                heatmaps: Optional[Tensor] = None,
                long_offsets: Optional[Tensor] = None,
                support_threshold: float = 0.5,
                short_offsets: Optional[Tensor] = None,
                vote_sigma: float = 1.,
                vote_window: int = 1) -> Tensor:
    """Complete a skeleton from every seed by following mid-range offsets.

    ``y_l = y_k + M_{k,l}(y_k)`` along the tree, breadth first from the
    seed's keypoint type (paper Sec. 3.1). All seeds and all edges of a
    tree level are processed together: a fixed number of batched samplings
    (the tree depth), whatever the number of seeds.

    Long-range fallback (optional, when ``heatmaps`` and ``long_offsets``
    are given): a mid-range offset read at a keypoint that is not there
    (heatmap probability below ``support_threshold`` at the placed
    position, e.g. an occluded or unlabelled joint) says nothing about the
    next joint, and everything below it in the tree would inherit the
    error. Then the child is placed with the long-range offset read at an
    anchor instead: ``y_l = c + L_l(c)``, ``c`` the cell nearest to the
    anchor (Sec. 3.2: long-range offsets point from any pixel of a person to
    each of its keypoints). Anchors are the seed and the keypoints placed
    from supported parents (placed by a trusted mid-range offset, they lie
    on the person even where their own joint is hidden), scored when they
    are parents (leaves never anchor); the anchor used is the one whose own
    long-range offset is shortest (``|L_a(y_a)|`` bilinearly; with
    ``short_offsets``, ``|c + L_a(c) - y_a|`` at its nearest cell ``c``),
    the latest placed among equals: 0 on the person's own pixels, the
    distance to the other person's same keypoint where the person stands
    behind another and its pixels are the other's. Supported parents
    always use the mid-range offsets.

    Reading the mid-range offsets (optional, when ``heatmaps`` and
    ``short_offsets`` are given): by default ``M_{k,l}`` is read
    bilinearly at ``y_k``, which mixes the offsets of every cell around
    it. Where another person's keypoint of type ``k`` lies within a cell
    of ``y_k`` (people standing one behind the other), some of those cells
    belong to that person and point to its ``l``: the chain jumps onto it.
    With ``short_offsets``, each seed is first moved onto the votes of one
    keypoint (:func:`.voting.snap_to_votes`: a Hough peak merges same-type
    keypoints closer than its window), and ``M_{k,l}`` is read at the cells
    whose short-range votes land on ``y_k`` (:func:`.voting.voter_mean`,
    gate ``vote_sigma`` pixels, window ``2 vote_window + 1`` cells);
    ``y_k`` counts as present when their vote mass (in cells voting
    exactly) reaches ``support_threshold`` (a keypoint that no cell votes
    for is left, with the fallback, through the long-range offsets).

    Args:
        seed_xy (Tensor): (N, 2) seed positions in input pixels.
        seed_kpt (Tensor): (N,) long, keypoint type of each seed.
        mid_offsets (Tensor): (E, 2, H, W) refined mid-range offsets.
        stride (float): Stride of the maps.
        traversals (tuple): Output of :func:`tree_traversals`.
        heatmaps (Tensor, optional): (K, H, W) keypoint probabilities.
        long_offsets (Tensor, optional): (K, 2, H, W) refined long-range
            offsets.
        support_threshold (float): A placed keypoint counts as present
            where its heatmap probability (with ``short_offsets``: the vote
            mass of its voting cells) reaches it.
        short_offsets (Tensor, optional): (K, 2, H, W) short-range offsets:
            read the mid-range offsets at the cells that vote for each
            keypoint.
        vote_sigma (float): Gate of the votes in input pixels.
        vote_window (int): Half width of the window of voting cells.

    Returns:
        Tensor: (N, K, 2) keypoints of the candidate person of every seed.
    """
    edge, parent, child = (t.to(seed_xy.device) for t in traversals)
    K, D, M = edge.shape
    N = seed_xy.shape[0]
    H, W = mid_offsets.shape[-2:]
    fallback = heatmaps is not None and long_offsets is not None
    voted = heatmaps is not None and short_offsets is not None
    if voted:  # a seed may merge two same-type keypoints: take one
        seed_xy = snap_to_votes(seed_xy, seed_kpt, heatmaps, short_offsets,
                                stride, vote_sigma, vote_window)
    # slot K is scratch space for the padding entries of each level
    kpts = seed_xy.new_zeros((N, K + 1, 2))
    rows = torch.arange(N, device=seed_xy.device)
    kpts[rows, seed_kpt] = seed_xy
    n = rows[:, None].expand(N, M).reshape(-1)
    if fallback:
        # anchor candidates: the seed and the keypoints placed from present
        # parents, scored (when they are parents) by how far their own
        # long-range offset points from them, plus 1e-4 px per level still
        # to come (among equals the latest wins)
        trusted = torch.zeros((N, K + 1), dtype=torch.bool,
                              device=seed_xy.device)
        trusted[rows, seed_kpt] = True
        own = seed_xy.new_full((N, K + 1), float('inf'))
    for d in range(D):
        e = edge[seed_kpt, d].reshape(-1)
        p = parent[seed_kpt, d].reshape(-1)
        c = child[seed_kpt, d].reshape(-1)
        start = kpts[n, p]
        real_p, real_c = p.clamp(max=K - 1), c.clamp(max=K - 1)
        if voted:
            cells = window_cells(start, stride, H, W, vote_window)
            placed, mass = voter_mean(start, cells, real_p, heatmaps,
                                      short_offsets, e, mid_offsets,
                                      vote_sigma)
            supported = mass >= support_threshold
        else:
            # every lookup at the parent shares one set of bilinear weights
            idx, w = bilinear_corners(start, stride, H, W)
            placed = start + gather_corners(mid_offsets, e, idx, w)
            if fallback:
                prob = gather_corners(heatmaps[:, None], real_p, idx, w)
                supported = prob[:, 0] >= support_threshold
        if fallback:
            if voted:  # at the parent's nearest cell, the window's centre
                q = cells[0].shape[1] // 2
                err = (cells[2][:, q] - start + gather_cells(
                    long_offsets, real_p, cells[0][:, q:q + 1])[:, 0])
            else:
                err = gather_corners(long_offsets, real_p, idx, w)
            err = err.norm(dim=1)
            own[n, p] = torch.where(trusted[n, p],
                                    torch.nan_to_num(err, nan=1e30) +
                                    (D - d) * 1e-4,
                                    torch.full_like(err, float('inf')))
            # children of an absent parent: long-range from the anchor
            # most surely on the person's own pixels, at its nearest cell
            anchor = kpts[rows, own[:, :K].argmin(dim=1)][n]
            a_idx, _, a_xy = window_cells(anchor, stride, H, W, 0)
            via_long = a_xy[:, 0] + gather_cells(long_offsets, real_c,
                                                 a_idx)[:, 0]
            placed = torch.where(supported[:, None], placed, via_long)
            trusted[n, c] = supported
        kpts[n, c] = placed
    return kpts[:, :K]


def seed_conflicts(seed_kpt: Tensor, seed_xy: Tensor, skeletons: Tensor,
                   nms_radius: float) -> Tensor:
    """Which seeds the skeleton of which other seed already covers.

    Args:
        seed_kpt (Tensor): (N,) keypoint types.
        seed_xy (Tensor): (N, 2) seed positions.
        skeletons (Tensor): (M, K, 2) skeletons: of every seed (M = N),
            or of people already accepted.
        nms_radius (float): r in input pixels.

    Returns:
        Tensor: (N, M) bool, ``blocked[n, m]``: seed ``n`` lies within
        ``nms_radius`` of keypoint ``k_n`` of skeleton ``m``.
    """
    own = skeletons[:, seed_kpt, :]  # (M, N, 2): skeleton m at type k_n
    dist = (own - seed_xy[None]).norm(dim=-1).T  # (N, M)
    return torch.nan_to_num(dist, nan=float('inf')) <= nms_radius


def greedy_accept(blocked: np.ndarray, max_people: int,
                  alive: Optional[np.ndarray] = None) -> List[int]:
    """The sequential part of greedy decoding, on the host.

    Args:
        blocked (np.ndarray): (N, N) bool from :func:`seed_conflicts`,
            seeds in priority order.
        max_people (int): Stop after this many people.
        alive (np.ndarray, optional): (N,) bool, the seeds that may start
            a person (padding excluded); defaults to all.

    Returns:
        List[int]: indices of the accepted seeds, in order.
    """
    N = blocked.shape[0]
    alive = np.ones(N, dtype=bool) if alive is None else alive.copy()
    covers = blocked.T  # row m: the seeds skeleton m covers
    accepted = []
    for n in np.flatnonzero(alive).tolist():
        if not alive[n]:
            continue
        accepted.append(n)
        if len(accepted) >= max_people:
            break
        alive &= ~covers[n]
    return accepted


def greedy_select(seed_kpt: Tensor,
                  seed_xy: Tensor,
                  skeletons: Tensor,
                  nms_radius: float,
                  max_people: int,
                  valid: Optional[Tensor] = None) -> Tensor:
    """PersonLab's greedy decoding over seeds sorted by descending score.

    A seed of type ``k`` starts a new person unless it lies within
    ``nms_radius`` of keypoint ``k`` of a person already started; the
    person is the seed's precomputed skeleton. Conflicts are computed for
    all seed pairs at once (:func:`seed_conflicts`) and brought to the host
    in one transfer, so the sequential part (:func:`greedy_accept`) only
    reads one row of booleans per accepted seed.

    Args:
        seed_kpt (Tensor): (N,) keypoint types, in priority order.
        seed_xy (Tensor): (N, 2) seed positions.
        skeletons (Tensor): (N, K, 2) skeleton of every seed.
        nms_radius (float): r in input pixels (paper: 10).
        max_people (int): Stop after this many people.
        valid (Tensor, optional): (N,) bool, the seeds that may start a
            person (fixed-shape padding excluded); defaults to all.

    Returns:
        Tensor: (J,) long indices of the accepted seeds, in order.
    """
    N = seed_xy.shape[0]
    if N == 0:
        return torch.zeros(0, dtype=torch.long, device=seed_xy.device)
    blocked = seed_conflicts(seed_kpt, seed_xy, skeletons, nms_radius)
    if valid is None:
        accepted = greedy_accept(blocked.cpu().numpy(), max_people)
    else:  # one transfer for both
        host = torch.cat([blocked, valid[None].to(torch.bool)]).cpu().numpy()
        accepted = greedy_accept(host[:N], max_people, host[N])
    return torch.as_tensor(accepted, dtype=torch.long, device=seed_xy.device)


def group_greedily(seed_kpt: Tensor,
                   seed_xy: Tensor,
                   skeletons_of: Callable[[Tensor, Tensor], Tensor],
                   nms_radius: float,
                   max_people: int,
                   first_chunk: int = 64,
                   valid: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """PersonLab's greedy decoding, following the tree only from the seeds
    that can still start a person.

    The same people as :func:`greedy_select` over the skeletons of all
    seeds, but seeds are taken in chunks in priority order (``first_chunk``
    seeds, then twice as many each time): the seeds of a chunk that an
    accepted person already covers are dropped before their skeletons are
    computed (:func:`seed_conflicts` against the accepted skeletons), and
    the rest are decided with :func:`greedy_select`. In an image of many
    people most seeds are keypoints of people accepted earlier, so the tree
    is followed from few more seeds than there are people, and the
    conflict matrices stay chunk-sized instead of (seeds x seeds). With
    ``first_chunk >= N`` all seeds are followed at once (fixed shapes: the
    form ``torch.compile`` takes).

    Args:
        seed_kpt (Tensor): (N,) keypoint types, in priority order.
        seed_xy (Tensor): (N, 2) seed positions.
        skeletons_of (Callable): ``(seed_xy (C, 2), seed_kpt (C,)) -> (C,
            K, 2)`` the skeleton of each seed (:func:`follow_tree`).
        nms_radius (float): r in input pixels (paper: 10).
        max_people (int): Stop after this many people.
        first_chunk (int): Size of the first chunk. Defaults to 64.
        valid (Tensor, optional): (N,) bool, the seeds that may start a
            person (padding excluded); defaults to all.

    Returns:
        tuple: ``skeletons`` (J, K, 2) of the accepted people and their
        seed indices (J,) long, in order.
    """
    device = seed_xy.device
    N = seed_xy.shape[0]
    index = torch.arange(N, device=device)
    chosen: List[Tensor] = []
    people: List[Tensor] = []
    count, start, size = 0, 0, max(1, first_chunk)
    while start < N and count < max_people:
        idx = index[start:start + size]
        start, size = start + size, 2 * size
        if people:  # drop the seeds an accepted person covers
            covered = seed_conflicts(seed_kpt[idx], seed_xy[idx],
                                     torch.cat(people), nms_radius)
            idx = idx[~covered.any(dim=1)]
        if idx.numel() == 0:
            continue
        kpt, xy = seed_kpt[idx], seed_xy[idx]
        skeletons = skeletons_of(xy, kpt)
        accepted = greedy_select(kpt, xy, skeletons, nms_radius,
                                 max_people - count,
                                 None if valid is None else valid[idx])
        chosen.append(idx[accepted])
        people.append(skeletons[accepted])
        count += accepted.numel()
    if not people:
        K = skeletons_of(seed_xy[:0], seed_kpt[:0]).shape[1]
        return seed_xy.new_zeros((0, K, 2)), index[:0]
    return torch.cat(people), torch.cat(chosen)
