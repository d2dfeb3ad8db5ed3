"""Greedy grouping of keypoint seeds into people (PersonLab Sec. 3.1)."""
from collections import deque
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .sampling import bilinear_gather


def tree_traversals(edges: Sequence[Tuple[int, int]],
                    num_keypoints: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Breadth-first order of the kinematic tree from every root keypoint.

    Args:
        edges (Sequence[Tuple[int, int]]): Directed edges (both directions
            of every tree edge).
        num_keypoints (int): K.

    Returns:
        tuple: ``edge``, ``parent`` and ``child`` long tensors of shape
        (K, K - 1): step ``t`` of the traversal rooted at ``r`` follows
        directed edge ``edge[r, t]`` from ``parent[r, t]`` (already placed)
        to ``child[r, t]``.
    """
    lookup = {tuple(e): i for i, e in enumerate(edges)}
    neighbours = [[] for _ in range(num_keypoints)]
    for k, child in edges:
        neighbours[k].append(child)
    order_e, order_p, order_c = [], [], []
    for root in range(num_keypoints):
        seen, queue = {root}, deque([root])
        es, ps, cs = [], [], []
        while queue:
            k = queue.popleft()
            for child in neighbours[k]:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
                    es.append(lookup[(k, child)])
                    ps.append(k)
                    cs.append(child)
        if len(es) != num_keypoints - 1:
            raise ValueError('the kinematic tree does not reach every '
                             f'keypoint from keypoint {root}')
        order_e.append(es)
        order_p.append(ps)
        order_c.append(cs)
    return (torch.tensor(order_e), torch.tensor(order_p),
            torch.tensor(order_c))


def follow_tree(seed_xy: Tensor,
                seed_kpt: Tensor,
                mid_offsets: Tensor,
                stride: float,
                traversals: Tuple[Tensor, Tensor, Tensor],
                heatmaps: Optional[Tensor] = None,
                long_offsets: Optional[Tensor] = None,
                edge_sources: Optional[Tensor] = None,
                support_threshold: float = 0.5) -> Tensor:
    """Complete a skeleton from every seed by following mid-range offsets.

    ``y_l = y_k + M_{k,l}(y_k)`` along the tree, breadth first from the
    seed's keypoint type (paper Sec. 3.1). All seeds are processed together,
    one tree step at a time (K - 1 batched samplings).

    Long-range fallback (optional, when ``heatmaps`` and ``long_offsets``
    are given): a mid-range offset read at a keypoint that is not there
    (heatmap probability below ``support_threshold`` at the placed
    position, e.g. an occluded or unlabelled joint) says nothing about the
    next joint, and everything below it in the tree would inherit the
    error. Then the child is placed with the long-range offset read at its
    nearest supported ancestor instead: ``y_l = y_a + L_l(y_a)`` (Sec. 3.2:
    long-range offsets point from any pixel of a person to each of its
    keypoints). Supported parents always use the mid-range offsets.

    Args:
        seed_xy (Tensor): (N, 2) seed positions in input pixels.
        seed_kpt (Tensor): (N,) long, keypoint type of each seed.
        mid_offsets (Tensor): (E, 2, H, W) refined mid-range offsets.
        stride (float): Stride of the maps.
        traversals (tuple): Output of :func:`tree_traversals`.
        heatmaps (Tensor, optional): (K, H, W) keypoint probabilities.
        long_offsets (Tensor, optional): (K, 2, H, W) refined long-range
            offsets.
        edge_sources (Tensor, optional): (E,) source keypoint of every
            directed edge (needed with the fallback).
        support_threshold (float): Probability above which a placed
            keypoint counts as present.

    Returns:
        Tensor: (N, K, 2) keypoints of the candidate person of every seed.
    """
    order_e, order_p, order_c = (t.to(seed_xy.device) for t in traversals)
    K = order_e.shape[0]
    N = seed_xy.shape[0]
    kpts = seed_xy.new_zeros((N, K, 2))
    rows = torch.arange(N, device=seed_xy.device)
    kpts[rows, seed_kpt] = seed_xy
    fallback = heatmaps is not None and long_offsets is not None
    field = mid_offsets
    if fallback:
        if edge_sources is None:
            raise ValueError('the long-range fallback needs edge_sources')
        # one sampling per step reads the edge's offset and the probability
        # of its source keypoint: (E, 3, H, W)
        field = torch.cat(
            [mid_offsets, heatmaps[edge_sources.to(heatmaps.device), None]],
            dim=1)
    # nearest supported ancestor of every placed keypoint (itself if so)
    anchor = seed_kpt[:, None].repeat(1, K)
    for t in range(K - 1):
        e = order_e[seed_kpt, t]
        p = order_p[seed_kpt, t]
        c = order_c[seed_kpt, t]
        start = kpts[rows, p]
        sample = bilinear_gather(field, e, start, stride)
        child = start + sample[:, :2]
        if fallback:
            supported = sample[:, 2] >= support_threshold
            a = torch.where(supported, p, anchor[rows, p])
            a_xy = kpts[rows, a]
            via_long = a_xy + bilinear_gather(long_offsets, c, a_xy, stride)
            child = torch.where(supported[:, None], child, via_long)
            anchor[rows, c] = torch.where(supported, c, a)
        kpts[rows, c] = child
    return kpts


def greedy_select(seed_kpt: Tensor, seed_xy: Tensor, skeletons: Tensor,
                  nms_radius: float, max_people: int) -> Tensor:
    """PersonLab's greedy decoding over seeds sorted by descending score.

    A seed of type ``k`` starts a new person unless it lies within
    ``nms_radius`` of keypoint ``k`` of a person already started; the
    person is the seed's precomputed skeleton. Conflicts are computed for
    all seed pairs at once, so the sequential part only reads one row of
    booleans per accepted seed.

    Args:
        seed_kpt (Tensor): (N,) keypoint types, in priority order.
        seed_xy (Tensor): (N, 2) seed positions.
        skeletons (Tensor): (N, K, 2) skeleton of every seed.
        nms_radius (float): r in input pixels (paper: 10).
        max_people (int): Stop after this many people.

    Returns:
        Tensor: (J,) long indices of the accepted seeds, in order.
    """
    N = seed_xy.shape[0]
    if N == 0:
        return torch.zeros(0, dtype=torch.long, device=seed_xy.device)
    # blocked[n, m]: seed n lies within r of keypoint k_n of skeleton m
    own = skeletons[:, seed_kpt, :]  # (M, N, 2): skeleton m at type k_n
    dist = (own - seed_xy[None]).norm(dim=-1).T  # (N, M)
    blocked = torch.nan_to_num(dist, nan=float('inf')) <= nms_radius
    blocked = blocked.cpu().numpy()
    alive = np.ones(N, dtype=bool)
    accepted = []
    for n in range(N):
        if not alive[n]:
            continue
        accepted.append(n)
        if len(accepted) >= max_people:
            break
        alive &= ~blocked[:, n]
    return torch.as_tensor(accepted, dtype=torch.long, device=seed_xy.device)
