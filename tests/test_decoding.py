"""Decoding: Hough voting, greedy grouping, scoring, NMS, masks, TTA."""
import math

import numpy as np
import pytest
import torch
from mmpose.registry import KEYPOINT_CODECS

from personlab_mm.decoding import (assign_masks, expected_oks_scores,
                                   find_peaks, greedy_select, hough_grid_size,
                                   hough_voting, oks_hard_nms, soft_nms)
from personlab_mm.models.utils.tta import (average, batch, flip_back,
                                           rescale_to, unbatch)
from personlab_mm.structures import COCO_FLIP_INDICES, COCO_IMPUTATION_TEMPLATE

IDENTITY = np.array([[1., 0., 0.], [0., 1., 0.]])


def _codec(size=(129, 129), stride=8, **kw):
    return KEYPOINT_CODECS.build(
        dict(type='PersonLabCodec', input_size=size, output_stride=stride,
             radius=32., **kw))


def _person(cx, cy, h):
    """A standing person of height h centred at (cx, cy): (17, 2)."""
    t = np.array(COCO_IMPUTATION_TEMPLATE)
    return np.stack([cx + (t[:, 0] - 0.5) * h * 0.5,
                     cy + (t[:, 1] - 0.5) * h], axis=1).astype(np.float32)


def _box_mask(codec, kp, margin=6.):
    """Grid mask of the keypoints' box (plus margin) of one person."""
    W, H = codec.heatmap_size
    xs, ys = codec.grid_points()
    lo, hi = kp.min(0) - margin, kp.max(0) + margin
    return ((xs[None] >= lo[0]) & (xs[None] <= hi[0]) &
            (ys[:, None] >= lo[1]) & (ys[:, None] <= hi[1]))


def _maps(codec, people, device='cpu'):
    kp = np.stack(people)
    masks = np.stack([_box_mask(codec, p) for p in people])
    enc = codec.encode(kp, np.ones(kp.shape[:2]), masks)
    return codec.maps_from_encoded(enc, device=device), enc


def _match(pred, gt):
    """Max keypoint error after matching each gt person to a prediction."""
    errs = []
    for g in gt:
        d = np.abs(pred - g[None]).max(axis=(1, 2))
        errs.append(d.min())
    return max(errs)


def test_hough_peak_lands_on_a_subpixel_keypoint(device):
    codec = _codec()
    kp = np.zeros((1, 17, 2), np.float32)
    vis = np.zeros((1, 17))
    kp[0, 0], vis[0, 0] = (61.3, 47.8), 1
    maps = codec.maps_from_encoded(codec.encode(kp, vis), device=device)
    hough = hough_voting(maps.heatmaps, maps.short_offsets, 8., 32., 4.,
                         hough_grid_size((129, 129), 4.))
    # a perfect disk casts a total mass of about one
    assert hough[0].sum().item() == pytest.approx(1., abs=0.1)
    assert hough[1:].sum() == 0
    scores, kpt, xy = find_peaks(hough, 0.01, 4.)
    assert kpt[0].item() == 0 and len(kpt) == 1
    np.testing.assert_allclose(xy[0].cpu().numpy(), [61.3, 47.8], atol=1e-3)


def test_greedy_decoding_separates_two_overlapping_people(device):
    codec = _codec(size=(257, 257))
    a, b = _person(110, 130, 180), _person(150, 140, 170)
    maps, _ = _maps(codec, [a, b], device)
    poses = codec.decode(maps)
    assert poses['keypoints'].device.type == device
    assert len(poses['keypoints']) == 2
    assert _match(poses['keypoints'].cpu().numpy(), [a, b]) < 1e-2
    masks = codec.decode_masks(maps, poses, IDENTITY, (257, 257))
    assert masks.device.type == device and masks.any(dim=(1, 2)).all()
    assert (poses['scores'] > 0.5).all()
    assert poses['scores'][0] >= poses['scores'][1]


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


@pytest.mark.parametrize('first_chunk', [1, 3, 64])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_group_greedily_equals_greedy_select_over_all_seeds(
        first_chunk, seed):
    from personlab_mm.decoding import group_greedily
    gen = torch.Generator().manual_seed(seed)
    N, K = 150, 17
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
    assert people.shape == (0, K, 2) and index.numel() == 0


def test_expected_oks_by_hand():
    hough = torch.zeros(1, 5, 5)
    hough[0, 2, 2] = 0.75  # at the keypoint (4, 4), hough stride 2
    hough[0, 2, 3] = 0.25  # 2 px to its right
    kp = torch.tensor([[[4., 4.]]])
    p = torch.tensor([[0.8]])
    lam, kappa = torch.tensor([10.]), torch.tensor([0.1])
    s = expected_oks_scores(hough, 2., kp, p, lam, kappa, radius=32.)
    want = 0.8 * (0.75 + 0.25 * math.exp(-4. / (2 * 100 * 0.01)))
    assert s.item() == pytest.approx(want, rel=1e-5)
    # mass outside the disk does not count
    hough[0, 0, 0] = 5.
    s2 = expected_oks_scores(hough, 2., kp, p, lam, kappa, radius=3.)
    assert s2.item() == pytest.approx(want, rel=1e-5)


def test_soft_nms_by_hand():
    kp = torch.tensor([[[0., 0.], [100., 0.]], [[5., 0.], [300., 0.]],
                       [[0., 500.], [100., 500.]]])
    ks = torch.tensor([[0.9, 0.8], [0.6, 0.6], [0.5, 0.05]])
    scores, order = soft_nms(kp, ks, nms_radius=10.)
    # B's keypoint 0 is claimed by A (5 px away): (0 + 0.6) / 2
    np.testing.assert_allclose(scores.numpy(), [0.85, 0.3, 0.275],
                               rtol=1e-6)
    assert order.tolist() == [0, 1, 2]


def test_oks_hard_nms_drops_duplicates():
    a = torch.tensor(_person(100, 100, 150))
    kp = torch.stack([a, a + 1., a + 300.])
    keep = oks_hard_nms(kp, torch.tensor([0.5, 0.9, 0.4]),
                        torch.tensor([100., 100., 100.]),
                        torch.full((17, ), 0.1), 0.5)
    assert keep.tolist() == [1, 2]


@pytest.mark.parametrize('mode', ['grid', 'pixel'])
def test_masks_are_non_exclusive_and_leave_orphans(device, mode):
    H = W = 9  # stride 4: input 33 x 33
    seg = torch.ones(H, W)
    seg[:, 8] = 0.  # not a person
    long = torch.zeros(1, 2, H, W)
    xs = torch.arange(W, dtype=torch.float32) * 4
    targets = torch.full((W, ), 10.)  # columns 0-2 point at (10, 10)
    targets[3:6] = 13.  # between both people
    targets[6:] = 100.  # nobody there
    long[0, 0] = (targets - xs)[None].expand(H, W)
    long[0, 1] = 10. - torch.arange(H, dtype=torch.float32)[:, None] * 4
    kp = torch.tensor([[[10., 10.]], [[16., 10.]]])
    masks = assign_masks(seg.to(device), long.to(device), 4., kp.to(device),
                         torch.ones(2, 1, device=device),
                         torch.tensor([20., 20.], device=device),
                         torch.tensor(IDENTITY), (33, 33), mode=mode)
    masks = masks.cpu()
    assert masks.shape == (2, 33, 33)
    both = masks[0] & masks[1]
    assert both[:, 13].all()  # column 13 sits between cells 3 and 4
    assert masks[0][:, 0].all() and not masks[1][:, 0].any()
    orphans = ~(masks[0] | masks[1])
    assert orphans[:, 28].all()  # long offsets point nowhere
    assert orphans[:, 32].all()  # segmentation below 0.5


def test_empty_maps_give_no_people(device):
    codec = _codec()
    maps = codec.maps_from_encoded(
        codec.encode(np.zeros((0, 17, 2)), np.zeros((0, 17))), device=device)
    poses = codec.decode(maps)
    assert poses['keypoints'].shape == (0, 17, 2)
    assert poses['scores'].shape == (0, )
    masks = codec.decode_masks(maps, poses, IDENTITY, (100, 120))
    assert masks.shape == (0, 100, 120)


def _flipped_person(p, width):
    f = p[list(COCO_FLIP_INDICES)].copy()
    f[:, 0] = width - 1 - f[:, 0]
    return f


def test_flip_back_restores_the_maps_and_people(device):
    codec = _codec(size=(257, 257))
    a, b = _person(100, 130, 180), _person(170, 120, 150)
    plain, _ = _maps(codec, [a, b], device)
    flipped, _ = _maps(codec, [_flipped_person(a, 257),
                               _flipped_person(b, 257)], device)
    back = flip_back(batch([flipped]), 257, codec.flip_indices,
                     codec.flip_edge_indices)
    for name in ('heatmaps', 'short_offsets', 'mid_offsets'):
        torch.testing.assert_close(
            getattr(back, name)[0], getattr(plain, name), atol=1e-4,
            rtol=0)
    fused = average([batch([plain]), back], codec.edge_sources)
    single = codec.decode(plain)
    both = codec.decode(unbatch(fused)[0])
    assert len(both['keypoints']) == len(single['keypoints']) == 2
    assert _match(both['keypoints'].cpu().numpy(), [a, b]) < 1e-2


def test_multiscale_maps_fuse_to_the_same_people(device):
    size, f = 257, 1.5  # 257 -> 385 px (corner-aligned)
    big = 385
    codec, codec_big = _codec(size=(size, size)), _codec(size=(big, big))
    a, b = _person(100, 130, 180), _person(170, 120, 150)
    plain, _ = _maps(codec, [a, b], device)
    scaled, _ = _maps(codec_big, [a * f, b * f], device)
    back = rescale_to(batch([scaled]), (big, big), (size, size),
                      plain.heatmaps.shape[-2:])
    fused = average([batch([plain]), back], codec.edge_sources)
    poses = codec.decode(unbatch(fused)[0])
    assert len(poses['keypoints']) == 2
    assert _match(poses['keypoints'].cpu().numpy(), [a, b]) < 0.5


# ------------------------------------------ fixed-shape (compile) path
def _three_people(codec):
    return [_person(70, 90, 110), _person(150, 100, 120),
            _person(200, 160, 90)]


def test_dense_hough_and_peaks_equal_the_sparse_ones(device):
    from personlab_mm.decoding import find_peaks_dense, hough_voting_dense
    codec = _codec(size=(257, 257))
    maps, _ = _maps(codec, _three_people(codec), device)
    args = (maps.heatmaps, maps.short_offsets, 8., 32., 4.,
            hough_grid_size((257, 257), 4.))
    sparse = hough_voting(*args)
    dense = hough_voting_dense(*args)
    torch.testing.assert_close(dense, sparse, atol=1e-6, rtol=0)
    scores, kpt, xy = find_peaks(sparse, 0.01, 4., 1000)
    d_scores, d_kpt, d_xy, valid = find_peaks_dense(sparse, 0.01, 4., 1000)
    N = len(scores)
    assert N > 3 * 17 and valid[:N].all() and not valid[N:].any()
    # same order, ties included (by keypoint type, row, column)
    assert torch.equal(d_kpt[:N], kpt) and torch.equal(d_scores[:N], scores)
    assert torch.equal(d_xy[:N], xy)


def test_peak_ties_are_broken_by_position():
    hough = torch.zeros(2, 9, 9)
    for k, y, x in ((1, 2, 2), (0, 6, 6), (0, 2, 6), (1, 6, 2)):
        hough[k, y, x] = 0.5
    _, kpt, xy = find_peaks(hough, 0.01, 1.)
    assert kpt.tolist() == [0, 0, 1, 1]
    assert xy.tolist() == [[6., 2.], [6., 6.], [2., 2.], [2., 6.]]


@pytest.fixture
def uncompiled(monkeypatch):
    """The fixed-shape path without torch.compile (same math, no
    compilation on the test machine)."""
    import personlab_mm.decoding.decoder as decoder_module
    monkeypatch.setattr(decoder_module, '_compile', lambda fn, mode: fn)


@pytest.mark.parametrize('options', [
    dict(),
    dict(keypoint_score='hough'),
    dict(instance_nms='oks'),
    dict(long_range_fallback=False, max_people=2),
])
def test_fixed_shape_path_gives_the_same_people_and_masks(
        device, uncompiled, options):
    codec = _codec(size=(257, 257), decoder=options)
    people = _three_people(codec)
    maps, _ = _maps(codec, people, device)
    affine = np.array([[1.3, 0.1, -5.], [-0.05, 1.2, 3.]])
    results = []
    for compile_ in (False, True):
        codec.decoder.compile = compile_
        poses = codec.decode(maps)
        masks = codec.decode_masks(maps, poses, affine, (180, 200))
        results.append((poses, masks))
    (default, default_masks), (fixed, fixed_masks) = results
    assert 0 < len(default['keypoints']) <= options.get('max_people', 20)
    for key in default:
        torch.testing.assert_close(fixed[key], default[key], atol=1e-5,
                                   rtol=0)
    assert torch.equal(fixed_masks, default_masks)
    assert default_masks.any()


def test_fixed_shape_path_with_nobody(device, uncompiled):
    codec = _codec(decoder=dict(compile=True))
    maps = codec.maps_from_encoded(
        codec.encode(np.zeros((0, 17, 2)), np.zeros((0, 17))), device=device)
    poses = codec.decode(maps)
    assert poses['keypoints'].shape == (0, 17, 2)
    assert codec.decode_masks(maps, poses, IDENTITY,
                              (50, 60)).shape == (0, 50, 60)


def test_compile_option():
    codec = _codec(decoder=dict(compile='auto'))
    assert not codec.decoder._static(torch.device('cpu'))
    assert codec.decoder._static(torch.device('cuda'))
    assert _codec(decoder=dict(compile=True)).decoder._static(
        torch.device('cpu'))
    with pytest.raises(ValueError, match='compile'):
        _codec(decoder=dict(compile='yes'))


def test_soft_nms_ignores_padding():
    kp = torch.rand(4, 17, 2) * 100
    ks = torch.rand(4, 17)
    scores, order = soft_nms(kp, ks, 10.)
    pad_kp = torch.cat([kp, kp[:1].expand(3, -1, -1)])
    pad_ks = torch.cat([ks, torch.ones(3, 17)])
    valid = torch.arange(7) < 4
    p_scores, p_order = soft_nms(pad_kp, pad_ks, 10., valid)
    assert torch.equal(p_order[:4], order)
    torch.testing.assert_close(p_scores[:4], scores)
    assert torch.isinf(p_scores[4:]).all()


def test_greedy_accept_skips_dead_seeds_and_reads_transposed():
    from personlab_mm.decoding import greedy_accept
    blocked = np.zeros((4, 4), dtype=bool)
    blocked[2, 0] = True  # seed 2 lies on the skeleton of seed 0
    assert greedy_accept(blocked, 10) == [0, 1, 3]
    assert greedy_accept(blocked.T, 10, transposed=True) == [0, 1, 3]
    alive = np.array([False, True, True, True])
    assert greedy_accept(blocked, 10, alive) == [1, 2, 3]
    assert greedy_accept(blocked, 2) == [0, 1]
