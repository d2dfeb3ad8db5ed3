"""PersonLab decoding: Eq. 1 voting and seeds, greedy grouping through the
decoder, Eq. 3-4 scores, Eq. 6 masks, the fixed-shape (compile) path."""
import math

import numpy as np
import pytest
import torch
from personlab_testing import build_codec, standing_person

from personlab_mm.analysis import encoded_to_maps
from personlab_mm.decoders import (PersonLabDecoder, expected_oks_scores,
                                   hough_maps, keypoint_seeds,
                                   keypoint_soft_nms, person_masks)
from personlab_mm.functional import covering_grid_size
from personlab_mm.structures import DenseMaps

IDENTITY = np.array([[1., 0., 0.], [0., 1., 0.]])


def _codec(size=(129, 129), stride=8):
    return build_codec(input_size=size, output_stride=stride, radius=32.)


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
    return encoded_to_maps(enc, codec.keypoints, codec.output_stride,
                           device), enc


def _decoder(codec, **settings):
    return PersonLabDecoder(codec.keypoints, codec.radius, **settings)


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
    maps = encoded_to_maps(codec.encode(kp, vis), codec.keypoints, 8.,
                           device)
    hough = hough_maps(maps['heatmaps'][0], maps['short_offsets'][0], 8.,
                       32., 4., covering_grid_size((129, 129), 4.))
    # a perfect disk casts a total mass of about one
    assert hough[0].sum().item() == pytest.approx(1., abs=0.1)
    assert hough[1:].sum() == 0
    kpt, xy, valid = keypoint_seeds(hough, 0.01, 4., 1000)
    assert kpt[0].item() == 0 and len(kpt) == 1 and valid.all()
    np.testing.assert_allclose(xy[0].cpu().numpy(), [61.3, 47.8], atol=1e-3)


def test_greedy_decoding_separates_two_overlapping_people(device):
    codec = _codec(size=(257, 257))
    a, b = standing_person(110, 130, 180), standing_person(150, 140, 170)
    maps, _ = _maps(codec, [a, b], device)
    people = _decoder(codec).decode(maps, (257, 257), IDENTITY, (257, 257))
    assert people['keypoints'].device.type == device
    assert len(people['keypoints']) == 2
    assert _match(people['keypoints'].cpu().numpy(), [a, b]) < 1e-2
    masks = people['masks']
    assert masks.device.type == device and masks.any(dim=(1, 2)).all()
    assert (people['scores'] > 0.5).all()
    assert people['scores'][0] >= people['scores'][1]


def test_codec_decode_keeps_the_mmpose_contract():
    codec = _codec(size=(257, 257))
    a, b = standing_person(110, 130, 180), standing_person(150, 140, 170)
    maps, _ = _maps(codec, [a, b])
    keypoints, scores = codec.decode(maps)
    assert isinstance(keypoints, np.ndarray) and keypoints.shape == (2, 17,
                                                                     2)
    assert scores.shape == (2, 17)
    assert _match(keypoints, [a, b]) < 1e-2


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
    scores, order = keypoint_soft_nms(kp, ks, nms_radius=10.)
    # B's keypoint 0 is claimed by A (5 px away): (0 + 0.6) / 2
    np.testing.assert_allclose(scores.numpy(), [0.85, 0.3, 0.275],
                               rtol=1e-6)
    assert order.tolist() == [0, 1, 2]


def test_soft_nms_ignores_padding():
    kp = torch.rand(4, 17, 2) * 100
    ks = torch.rand(4, 17)
    scores, order = keypoint_soft_nms(kp, ks, 10.)
    pad_kp = torch.cat([kp, kp[:1].expand(3, -1, -1)])
    pad_ks = torch.cat([ks, torch.ones(3, 17)])
    valid = torch.arange(7) < 4
    p_scores, p_order = keypoint_soft_nms(pad_kp, pad_ks, 10., valid)
    assert torch.equal(p_order[:4], order)
    torch.testing.assert_close(p_scores[:4], scores)
    assert torch.isinf(p_scores[4:]).all()


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
    masks = person_masks(seg.to(device), long.to(device), 4., kp.to(device),
                         torch.ones(2, 1, device=device),
                         torch.tensor([20., 20.], device=device), None,
                         torch.tensor(IDENTITY, dtype=torch.float32),
                         (33, 33), mode=mode, axis_aligned=True)
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
    maps = encoded_to_maps(
        codec.encode(np.zeros((0, 17, 2)), np.zeros((0, 17))),
        codec.keypoints, 8., device)
    people = _decoder(codec).decode(maps, (129, 129), IDENTITY, (100, 120))
    assert people['keypoints'].shape == (0, 17, 2)
    assert people['scores'].shape == (0, )
    assert people['masks'].shape == (0, 100, 120)


def test_bad_settings():
    codec = _codec()
    for settings, msg in ((dict(compile='yes'), 'compile'),
                          (dict(keypoint_score='mean'), 'keypoint_score'),
                          (dict(instance_nms='hard'), 'instance_nms'),
                          (dict(mask_mode='dense'), 'mask_mode'),
                          (dict(max_people=0), 'max_people')):
        with pytest.raises(ValueError, match=msg):
            _decoder(codec, **settings)


def test_maps_without_personlab_fields():
    codec = _codec()
    maps, _ = _maps(codec, [standing_person(60, 60, 80)])
    partial = DenseMaps({'heatmaps': maps['heatmaps']}, maps.specs, 8.)
    with pytest.raises(ValueError, match='lack'):
        _decoder(codec).decode(partial, (129, 129))


def test_compile_option():
    codec = _codec()
    auto = _decoder(codec, compile='auto')
    assert not auto.fixed_shapes(torch.device('cpu'))
    assert auto.fixed_shapes(torch.device('cuda'))
    assert _decoder(codec, compile=True).fixed_shapes(torch.device('cpu'))
    assert 'compile' in PersonLabDecoder.setting_names()
    assert 'keypoints' not in PersonLabDecoder.setting_names()


# ------------------------------------------ fixed-shape (compile) path
@pytest.fixture
def uncompiled(monkeypatch):
    """The fixed-shape path without torch.compile (the same functions,
    no compilation on the test machine)."""
    import personlab_mm.decoders.personlab as decoder_module
    monkeypatch.setattr(decoder_module, 'compiled', lambda fn, mode: fn)


@pytest.mark.parametrize('options', [
    dict(),
    dict(keypoint_score='hough'),
    dict(instance_nms='oks'),
    dict(long_range_fallback=False, max_people=2),
])
def test_fixed_shape_path_gives_the_same_people_and_masks(
        device, uncompiled, options):
    codec = _codec(size=(257, 257))
    people = [standing_person(70, 90, 110), standing_person(150, 100, 120),
              standing_person(200, 160, 90)]
    maps, _ = _maps(codec, people, device)
    affine = np.array([[1.3, 0.1, -5.], [-0.05, 1.2, 3.]])
    default, fixed = (_decoder(codec, compile=c, **options).decode(
        maps, (257, 257), affine, (180, 200)) for c in (False, True))
    assert 0 < len(default['keypoints']) <= options.get('max_people', 20)
    for key in default:
        if key != 'masks':
            torch.testing.assert_close(fixed[key], default[key], atol=0,
                                       rtol=0)
    assert torch.equal(fixed['masks'], default['masks'])
    assert default['masks'].any()


def test_fixed_shape_path_with_nobody(device, uncompiled):
    codec = _codec()
    maps = encoded_to_maps(
        codec.encode(np.zeros((0, 17, 2)), np.zeros((0, 17))),
        codec.keypoints, 8., device)
    people = _decoder(codec, compile=True).decode(maps, (129, 129),
                                                  IDENTITY, (50, 60))
    assert people['keypoints'].shape == (0, 17, 2)
    assert people['masks'].shape == (0, 50, 60)
