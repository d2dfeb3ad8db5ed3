"""Kinematic-tree following and greedy acceptance of seeds."""
import numpy as np
import pytest
import torch

from personlab_mm.functional import (follow_tree, greedy_accept, greedy_select,
                                     group_greedily, tree_traversals)
from personlab_mm.structures import directed_edges

# a chain 0 - 1 - 2
EDGES = directed_edges([(0, 1), (1, 2)])


def test_tree_traversals_from_every_root():
    edge, parent, child = tree_traversals(EDGES, 3)
    # (roots, depth, most edges of a level): from keypoint 1 both
    # neighbours are at the first level
    assert edge.shape == (3, 2, 2)
    assert sorted(child[1, 0].tolist()) == [0, 2]
    assert child[1, 1].tolist() == [3, 3]  # padding: the scratch slot
    assert child[0, :, 0].tolist() == [1, 2]
    assert parent[2, :, 0].tolist() == [2, 1]
    with pytest.raises(ValueError, match='does not reach'):
        tree_traversals(directed_edges([(0, 1)]), 3)


def test_follow_tree_by_hand():
    traversals = tree_traversals(EDGES, 3)
    H = W = 5
    mid = torch.zeros(4, 2, H, W)
    mid[0, 0] = 8.  # 0 -> 1: 8 px to the right everywhere
    mid[1, 1] = 4.  # 1 -> 2: 4 px down
    mid[2, 0] = -8.  # 1 -> 0
    mid[3, 1] = -4.  # 2 -> 1
    seeds = torch.tensor([[4., 4.], [12., 8.]])
    kpt = torch.tensor([0, 2])
    skel = follow_tree(seeds, kpt, mid, 4., traversals)
    torch.testing.assert_close(skel[0], torch.tensor([[4., 4.], [12., 4.],
                                                      [12., 8.]]))
    torch.testing.assert_close(skel[1], torch.tensor([[4., 4.], [12., 4.],
                                                      [12., 8.]]))


def test_long_range_fallback_skips_absent_keypoints():
    traversals = tree_traversals(EDGES, 3)
    mid = torch.zeros(4, 2, 5, 5)
    mid[0, 0] = 8.
    mid[1, 1] = 100.  # nonsense read at an absent keypoint 1
    heat = torch.zeros(3, 5, 5)
    heat[0] = 1.  # keypoint 1 is not there
    long = torch.zeros(3, 2, 5, 5)
    long[2, 1] = 4.  # from anywhere: keypoint 2 is 4 px down
    seeds, kpt = torch.tensor([[4., 4.]]), torch.tensor([0])
    plain = follow_tree(seeds, kpt, mid, 4., traversals)
    assert plain[0, 2].tolist() == [12., 104.]
    fallback = follow_tree(seeds, kpt, mid, 4., traversals, heat, long)
    # long-range offsets read at the placed keypoint 1 instead
    assert fallback[0, 2].tolist() == [12., 8.]


def test_fallback_anchor_is_on_the_persons_own_pixels():
    """A person behind another: its keypoint 1 lies on the front person's
    pixels (their long-range offsets point 8 px away from it, to the front
    person's keypoint 1, and on to the front person's keypoint 2); keypoint
    1 is absent, so keypoint 2 comes from the long-range offsets of the
    anchor whose own offset is shortest: keypoint 0, on its own pixels."""
    traversals = tree_traversals(EDGES, 3)
    mid = torch.zeros(4, 2, 5, 5)
    mid[0, 0] = 8.  # 0 -> 1: 8 px right
    heat = torch.zeros(3, 5, 5)
    heat[0] = 1.  # keypoint 1 is not there
    long = torch.zeros(3, 2, 5, 5)
    long[2, 1, :, :2] = 4.  # own pixels (x <= 4): keypoint 2 4 px down
    long[1, 0, :, 2:] = 8.  # the front person's pixels (x >= 8)
    long[2, 1, :, 2:] = 100.
    seeds, kpt = torch.tensor([[4., 4.]]), torch.tensor([0])
    skel = follow_tree(seeds, kpt, mid, 4., traversals, heat, long)
    assert skel[0, 1].tolist() == [12., 4.]
    assert skel[0, 2].tolist() == [4., 8.]
    # with keypoint 1 on the person's own pixels too it is the anchor (the
    # latest placed of equally good ones)
    long[1, 0] = 0.
    long[2, 1] = 4.
    skel = follow_tree(seeds, kpt, mid, 4., traversals, heat, long)
    assert skel[0, 2].tolist() == [12., 8.]


def test_voter_reads_keep_two_close_people_apart():
    """Keypoint 0 of two people 2 px apart on a stride-4 grid: the bilinear
    read at either mixes both people's mid-range offsets; the read at the
    cells that vote for it does not."""
    traversals = tree_traversals(EDGES, 3)
    H = W = 9
    a, b = torch.tensor([14., 16.]), torch.tensor([16., 16.])
    ys, xs = torch.meshgrid(torch.arange(H) * 4., torch.arange(W) * 4.,
                            indexing='ij')
    cells = torch.stack([xs, ys])
    closer_a = ((cells - a[:, None, None]).norm(dim=0) <
                (cells - b[:, None, None]).norm(dim=0))
    short = torch.zeros(3, 2, H, W)
    a_, b_ = a[:, None, None], b[:, None, None]
    short[0] = torch.where(closer_a, a_, b_) - cells
    # 0 -> 1: person a's keypoint 1 is 12 px up, person b's 12 px down
    up, down = torch.tensor([0., -12.])[:, None, None], -torch.tensor(
        [0., -12.])[:, None, None]
    ends = torch.where(closer_a, a_ + up, b_ + down)
    mid = torch.zeros(4, 2, H, W)
    mid[0] = ends - cells
    heat = torch.ones(3, H, W)
    seeds, kpt = torch.stack([a, b]), torch.tensor([0, 0])
    plain = follow_tree(seeds, kpt, mid, 4., traversals)
    assert (plain[:, 1] - torch.stack([a, b]) - torch.tensor(
        [[0., -12.], [0., 12.]])).norm(dim=1).max() > 3
    voted = follow_tree(seeds, kpt, mid, 4., traversals, heat,
                        short_offsets=short, vote_sigma=0.5, vote_window=2)
    # the other person's cells vote 2 px away: weight exp(-8) of a voter
    torch.testing.assert_close(voted[:, 1], torch.stack(
        [a + torch.tensor([0., -12.]), b + torch.tensor([0., 12.])]),
        atol=0.05, rtol=0.)


def test_greedy_select_respects_the_nms_radius():
    # every skeleton's other keypoints far from everything else
    skeletons = torch.arange(3.)[:, None, None] * 1000. + 500. + torch.zeros(
        3, 17, 2)
    skeletons[0, 0] = torch.tensor([0., 0.])
    skeletons[1, 0] = torch.tensor([8., 0.])
    skeletons[2, 5] = torch.tensor([1., 0.])  # another type: never blocked
    seed_kpt = torch.tensor([0, 0, 5])
    seed_xy = torch.stack([skeletons[0, 0], skeletons[1, 0], skeletons[2, 5]])
    # seed 1 is 8 px from person 0's keypoint 0: rejected at r=10, kept at 5
    assert greedy_select(seed_kpt, seed_xy, skeletons, 10., 20).tolist() == [
        0, 2
    ]
    assert greedy_select(seed_kpt, seed_xy, skeletons, 5., 20).tolist() == [
        0, 1, 2
    ]
    assert greedy_select(seed_kpt, seed_xy, skeletons, 5., 2).tolist() == [
        0, 1
    ]
    valid = torch.tensor([False, True, True])
    assert greedy_select(seed_kpt, seed_xy, skeletons, 10., 20,
                         valid).tolist() == [1, 2]


def _crowd(seed, N=150, K=17):
    gen = torch.Generator().manual_seed(seed)
    # crowded seeds: many conflicts within r = 10
    seed_xy = torch.rand(N, 2, generator=gen) * 60.
    seed_kpt = torch.randint(0, K, (N, ), generator=gen)
    table = torch.randn(K, K, 2, generator=gen) * 15.

    def skeletons_of(xy, kpt):
        # a deterministic skeleton per seed; some keypoints NaN
        skel = xy[:, None] + table[kpt] + torch.sin(xy.sum(1))[:, None,
                                                               None] * 3.
        skel[(xy[:, 0] > 50.)[:, None] & (torch.arange(K) == 3)] = float(
            'nan')
        return skel

    return seed_kpt, seed_xy, skeletons_of


@pytest.mark.parametrize('first_chunk', [1, 3, 64, 150])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_group_greedily_equals_greedy_select_over_all_seeds(
        first_chunk, seed):
    seed_kpt, seed_xy, skeletons_of = _crowd(seed)
    everyone = skeletons_of(seed_xy, seed_kpt)
    for max_people in (5, 100):
        want = greedy_select(seed_kpt, seed_xy, everyone, 10., max_people)
        people, index = group_greedily(seed_kpt, seed_xy, skeletons_of, 10.,
                                       max_people, first_chunk=first_chunk)
        assert index.tolist() == want.tolist()
        assert 1 < len(want) <= max_people
        torch.testing.assert_close(people, everyone[want], equal_nan=True,
                                   rtol=0, atol=0)
    people, index = group_greedily(seed_kpt[:0], seed_xy[:0], skeletons_of,
                                   10., 20)
    assert people.shape == (0, 17, 2) and index.numel() == 0


def test_group_greedily_skips_invalid_seeds():
    seed_kpt, seed_xy, skeletons_of = _crowd(0)
    valid = torch.arange(150) < 100  # padding after seed 99
    people, index = group_greedily(seed_kpt, seed_xy, skeletons_of, 10., 100,
                                   first_chunk=150, valid=valid)
    want = greedy_select(seed_kpt[:100], seed_xy[:100],
                         skeletons_of(seed_xy[:100], seed_kpt[:100]), 10.,
                         100)
    assert index.tolist() == want.tolist()


def test_greedy_accept_skips_dead_seeds():
    blocked = np.zeros((4, 4), dtype=bool)
    blocked[2, 0] = True  # seed 2 lies on the skeleton of seed 0
    assert greedy_accept(blocked, 10) == [0, 1, 3]
    alive = np.array([False, True, True, True])
    assert greedy_accept(blocked, 10, alive) == [1, 2, 3]
    assert greedy_accept(blocked, 2) == [0, 1]
