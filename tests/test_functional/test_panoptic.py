"""Panoptic merging primitives against per-pixel Python references."""
import numpy as np
import pytest
import torch

from personlab_mm.functional import (channel_argmax, class_histograms,
                                     instance_boxes, instance_scores,
                                     majority_vote, nearest_centres,
                                     panoptic_ids)


def _random_case(seed, H=9, W=11, K=None, C=5):
    g = torch.Generator().manual_seed(seed)
    K = int(torch.randint(0, 6, (1, ), generator=g)) if K is None else K
    centres = torch.rand(K, 2, generator=g) * torch.tensor([W - 1., H - 1.])
    offsets = torch.randn(2, H, W, generator=g) * 4
    thing = torch.rand(H, W, generator=g) < 0.6
    semantic = torch.randint(0, C, (H, W), generator=g)
    return centres, offsets, thing, semantic, K, C


def _reference_ids(centres, offsets, thing):
    H, W = thing.shape
    ids = np.zeros((H, W), dtype=np.int64)
    for r in range(H):
        for c in range(W):
            if not thing[r, c] or len(centres) == 0:
                continue
            vx, vy = c + offsets[0, r, c], r + offsets[1, r, c]
            d = [(vx - cx)**2 + (vy - cy)**2 for cx, cy in centres.tolist()]
            ids[r, c] = int(np.argmin(d)) + 1
    return ids


@pytest.mark.parametrize('seed', range(12))
def test_nearest_centres_matches_per_pixel_reference(seed):
    centres, offsets, thing, *_ = _random_case(seed)
    ids = nearest_centres(centres, offsets, thing, chunk_size=7)
    assert ids.dtype == torch.long
    np.testing.assert_array_equal(ids.numpy(),
                                  _reference_ids(centres, offsets, thing))


def test_nearest_centres_without_centres_is_all_zero():
    ids = nearest_centres(torch.zeros(0, 2), torch.zeros(2, 4, 5),
                          torch.ones(4, 5, dtype=torch.bool))
    assert ids.shape == (4, 5) and not ids.any()


def test_nearest_centres_ties_go_to_the_first_centre():
    centres = torch.tensor([[2., 0.], [0., 0.], [2., 0.]])
    offsets = torch.zeros(2, 1, 3)  # pixel (1, 0) is 1 from (0,0) and (2,0)
    ids = nearest_centres(centres, offsets, torch.ones(1, 3,
                                                       dtype=torch.bool))
    assert ids.tolist() == [[2, 1, 1]]


@pytest.mark.parametrize('seed', range(8))
def test_majority_vote_and_scores_match_reference(seed):
    centres, offsets, thing, semantic, K, C = _random_case(seed, K=4)
    ids = nearest_centres(centres, offsets, thing)
    probs = torch.rand(C, *thing.shape,
                       generator=torch.Generator().manual_seed(seed))
    labels, areas = majority_vote(ids, semantic, K, C)
    centre_scores = torch.rand(K)
    scores = instance_scores(centre_scores, probs, ids, labels, areas)
    for k in range(K):
        inside = ids == k + 1
        counts = np.bincount(semantic[inside].numpy(), minlength=C)
        assert areas[k] == inside.sum()
        assert labels[k] == (np.argmax(counts) if inside.any() else 0)
        mean = probs[labels[k]][inside].mean() if inside.any() else 0.
        assert scores[k] == pytest.approx(float(centre_scores[k] * mean),
                                          rel=1e-5, abs=1e-7)
    hist = class_histograms(ids, semantic, K, C)
    assert hist.sum() == (ids > 0).sum()


def test_majority_vote_ties_take_the_lower_class():
    ids = torch.tensor([[1, 1, 1, 1]])
    semantic = torch.tensor([[3, 1, 3, 1]])
    labels, areas = majority_vote(ids, semantic, 1, 4)
    assert labels.tolist() == [1] and areas.tolist() == [4]


def test_panoptic_ids_by_hand():
    # classes: 0, 1 things; 2, 3 stuff; void label 4; offset 1000
    semantic = torch.tensor([[0, 0, 1, 2, 2],
                             [1, 1, 2, 3, 2]])
    ids = torch.tensor([[1, 1, 2, 0, 0],
                        [2, 0, 0, 0, 0]])
    labels = torch.tensor([0, 1])
    is_thing = torch.tensor([True, True, False, False])
    pan = panoptic_ids(semantic, ids, labels, is_thing, stuff_area=2,
                       void_label=4, instance_offset=1000)
    # thing pixel (1, 1) has no instance: void; stuff 3 has 1 pixel: void
    assert pan.tolist() == [[1000, 1000, 2001, 2, 2],
                            [2001, 4, 2, 4, 2]]


@pytest.mark.parametrize('seed', range(6))
def test_panoptic_ids_match_reference(seed):
    centres, offsets, thing_px, semantic, K, C = _random_case(seed, K=3)
    is_thing = torch.tensor([True, True, False, False, False])
    thing = is_thing[semantic]
    ids = nearest_centres(centres, offsets, thing)
    labels, _ = majority_vote(ids, semantic, K, C)
    pan = panoptic_ids(semantic, ids, labels, is_thing, 4, C, 1000)
    stuff_area = np.bincount(semantic[~thing].numpy(), minlength=C)
    H, W = semantic.shape
    for r in range(H):
        for c in range(W):
            s = int(semantic[r, c])
            if is_thing[s]:
                i = int(ids[r, c])
                want = int(labels[i - 1]) + i * 1000 if i else C
            else:
                want = s if stuff_area[s] >= 4 else C
            assert pan[r, c] == want


@pytest.mark.parametrize('channels', [1, 2, 7])
def test_channel_argmax_is_argmax_with_first_ties(channels):
    x = torch.randint(0, 3, (channels, 5, 6)).float()  # many ties
    assert torch.equal(channel_argmax(x), x.argmax(0))


@pytest.mark.parametrize('seed', range(4))
def test_instance_boxes_match_the_masks(seed):
    centres, offsets, thing, *_ = _random_case(seed, K=5)
    ids = nearest_centres(centres, offsets, thing)
    boxes = instance_boxes(ids, 5)
    for k in range(5):
        ys, xs = np.nonzero((ids == k + 1).numpy())
        want = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) \
            else [0, 0, 0, 0]
        assert boxes[k].tolist() == want
