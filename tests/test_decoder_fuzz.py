"""Decoding never crashes and never returns non-finite people, whatever the
network outputs: property tests over random, degenerate and non-finite maps
(issue 6, item 3); 200 people in one image; deterministic output."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.structures import PoseDataSample

from personlab_mm.datasets.synthetic import make_scene
from personlab_mm.decoding import PersonLabMaps, sanitize_maps

K, E = 17, 32
NUM_FUZZ = 1000
SPECIALS = np.array([np.nan, np.inf, -np.inf, 1e38, -1e38, 1e9, -1e9, 0.,
                     1., -1., 1e-45])


def _field(rng, shape, kind):
    """One map of a random (often pathological) kind."""
    if kind == 'zeros':
        return np.zeros(shape)
    if kind == 'ones':
        return np.ones(shape)
    if kind == 'const':
        return np.full(shape, rng.choice(SPECIALS))
    if kind == 'uniform':
        return rng.uniform(0, 1, shape)
    if kind == 'huge':
        return rng.normal(0, 1, shape) * 10.**rng.randint(3, 38)
    x = rng.normal(0, rng.choice([1., 10., 100.]), shape)
    if kind == 'sprinkled':
        hit = rng.rand(*shape) < rng.choice([0.01, 0.2, 0.9])
        x[hit] = rng.choice(SPECIALS, size=int(hit.sum()))
    return x


KINDS = ['zeros', 'ones', 'const', 'uniform', 'huge', 'normal', 'sprinkled',
         'sprinkled']


def _random_case(seed):
    rng = np.random.RandomState(seed)
    H, W = rng.randint(1, 13, size=2)
    stride = float(rng.choice([4, 8, 16]))
    dtype = torch.float64 if rng.rand() < 0.2 else torch.float32

    def t(shape):
        return torch.as_tensor(_field(rng, shape, rng.choice(KINDS)),
                               dtype=dtype)

    maps = PersonLabMaps(
        heatmaps=t((K, H, W)), short_offsets=t((K, 2, H, W)),
        mid_offsets=t((E, 2, H, W)), long_offsets=t((K, 2, H, W)),
        segmentation=t((H, W)), stride=stride)
    # image -> input: a scale and a shift, sometimes degenerate
    s = rng.choice([0.25, 0.5, 1., 2., 1e-6, 1e6])
    A = np.array([[s, 0., rng.uniform(-20, 20)], [0., s * rng.uniform(0.5, 2),
                                                  rng.uniform(-20, 20)]])
    image_hw = (int(rng.randint(1, 40)), int(rng.randint(1, 40)))
    return maps, A, image_hw


# few seeds and candidates keep 1000 cases fast (random maps are full of
# peaks); a few cases run with the default limits too
SMALL_LIMITS = dict(max_seeds=48, max_candidates=24, max_people=12)


def _codec(**decoder):
    return KEYPOINT_CODECS.build(
        dict(type='PersonLabCodec', input_size=(97, 97), output_stride=8,
             radius=32., decoder=decoder))


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Tiny maps: thread hand-offs cost more than the work (and the CI
    machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def codec():
    return _codec(**SMALL_LIMITS)


def _check(poses, masks, image_hw, max_people):
    J = poses['keypoints'].shape[0]
    assert J <= max_people
    assert poses['keypoints'].shape == (J, K, 2)
    for key in ('keypoints', 'keypoint_scores', 'keypoint_probs', 'scores',
                'scales'):
        assert torch.isfinite(poses[key]).all(), key
    for key in ('keypoint_scores', 'keypoint_probs', 'scores'):
        v = poses[key]
        assert (v >= 0).all() and (v <= 1).all(), key
    assert masks.dtype == torch.bool and masks.shape == (J, *image_hw)


def test_decoder_survives_random_and_non_finite_maps(codec):
    default = _codec()
    for seed in range(NUM_FUZZ):
        maps, A, image_hw = _random_case(seed)
        c = default if seed % 100 == 0 else codec
        try:
            poses = c.decode(maps)
            masks = c.decode_masks(maps, poses, A, image_hw)
            _check(poses, masks, image_hw, c.decoder.max_people)
        except Exception as e:  # name the failing case
            raise AssertionError(f'fuzz case seed={seed} '
                                 f'(grid {tuple(maps.heatmaps.shape)}, '
                                 f'stride {maps.stride}): {e!r}') from e


def _estimator(codec_cfg):
    return MODELS.build(
        dict(type='PersonLabEstimator',
             backbone=dict(type='ResNet', depth=18, base_channels=8,
                           stem_channels=8, strides=(1, 2, 2, 1),
                           dilations=(1, 1, 1, 2)),
             head=dict(type='PersonLabHead', in_channels=64,
                       decoder=codec_cfg),
             test_cfg=dict(output_stride=8)))


def _sample(input_size, image_hw):
    w, h = input_size
    s = PoseDataSample()
    s.set_metainfo(dict(input_size=(w, h), input_scale=(w * 1.5, h * 1.5),
                        input_center=(image_hw[1] / 2, image_hw[0] / 2),
                        ori_shape=image_hw))
    return s


def test_estimator_decode_maps_survives_fuzz_in_image_space():
    """The full path to ``pred_instances`` (inverse warp, boxes) too."""
    cfg = dict(type='PersonLabCodec', input_size=(97, 97), output_stride=8,
               radius=32., decoder=SMALL_LIMITS)
    model = _estimator(cfg)
    for seed in range(NUM_FUZZ, NUM_FUZZ + 200):
        maps, _, image_hw = _random_case(seed)
        H, W = maps.heatmaps.shape[-2:]
        input_size = (int((W - 1) * maps.stride) + 1,
                      int((H - 1) * maps.stride) + 1)
        batched = PersonLabMaps(*[m[None] for m in maps[:5]], maps.stride)
        sample = _sample(input_size, image_hw)
        try:
            model.decode_maps(batched, [sample])
        except Exception as e:
            raise AssertionError(f'fuzz case seed={seed}: {e!r}') from e
        pred = sample.pred_instances
        assert isinstance(pred, InstanceData)
        for key in ('keypoints', 'keypoint_scores', 'bboxes', 'scores'):
            assert np.isfinite(pred[key]).all(), (seed, key)
        assert pred.masks.shape == (len(pred), *image_hw)


def test_sanitize_maps_bounds_every_field():
    maps, _, _ = _random_case(7)
    nan = torch.full((K, 3, 4), float('nan'))
    maps = PersonLabMaps(
        heatmaps=torch.tensor([np.nan, np.inf, -np.inf, 2., -1., .5]).view(
            1, 2, 3).expand(K, 2, 3),
        short_offsets=torch.tensor(
            [np.nan, np.inf, -np.inf, 1e30, -5., 3.]).view(1, 1, 2, 3).expand(
                K, 2, 2, 3),
        mid_offsets=torch.zeros(E, 2, 2, 3), long_offsets=nan[:, :2, :2],
        segmentation=torch.tensor([[np.nan, 7., .25], [-np.inf, 0., 1.]]),
        stride=8.)
    clean = sanitize_maps(maps)
    assert clean.heatmaps[0].tolist() == [[0., 1., 0.], [1., 0., .5]]
    assert clean.segmentation.tolist() == [[0., 1., .25], [0., 0., 1.]]
    bound = clean.short_offsets[0, 0, 0, 1].item()
    assert bound > 3 * 8  # further than the whole grid: still "far away"
    assert clean.short_offsets[0, 0, 0].tolist() == [0., bound, -bound]
    assert clean.short_offsets[0, 0, 1].tolist() == [bound, -5., 3.]
    assert not clean.long_offsets.any()
    assert clean.stride == 8.
    # finite, in-range maps come back unchanged
    ok = sanitize_maps(clean)
    for a, b in zip(ok[:5], clean[:5]):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match='stride'):
        sanitize_maps(maps._replace(stride=float('nan')))


def _perfect_maps(codec, anns, image_hw):
    kp = np.array([a['keypoints'] for a in anns], np.float32).reshape(
        -1, K, 3)
    W, H = codec.heatmap_size
    from personlab_mm.datasets.transforms import rasterize_segmentation
    affine = np.array([[1. / codec.output_stride, 0, 0],
                       [0, 1. / codec.output_stride, 0]])
    masks = np.stack([
        rasterize_segmentation(a['segmentation'], image_hw, affine, (W, H))
        for a in anns
    ])
    enc = codec.encode(kp[..., :2], kp[..., 2], masks)
    return codec.maps_from_encoded(enc)


def test_two_hundred_people_in_one_image():
    w, h = 1200, 900
    img, anns = make_scene(200, image_size=(w, h), seed=0)
    assert len(anns) >= 190  # a few fully occluded ones are not annotated
    codec = KEYPOINT_CODECS.build(
        dict(type='PersonLabCodec', input_size=(w + 1, h + 1),
             output_stride=4, radius=8.,
             decoder=dict(max_people=250, max_candidates=500,
                          max_seeds=4000, nms_radius=3.)))
    maps = _perfect_maps(codec, anns, (h, w))
    poses = codec.decode(maps)
    A = np.array([[1., 0, 0], [0, 1., 0]])
    masks = codec.decode_masks(maps, poses, A, (h, w))
    J = len(poses['keypoints'])
    assert J >= 0.9 * len(anns), (J, len(anns))
    assert masks.shape == (J, h, w) and masks.any(dim=(1, 2)).sum() > 0.8 * J
    # most people are found to within a few pixels
    gt = np.array([a['keypoints'] for a in anns]).reshape(-1, K, 3)
    pred = poses['keypoints'].numpy()
    found = 0
    for g in gt:
        vis = g[:, 2] > 0
        err = np.abs(pred[:, vis] - g[None, vis, :2]).max(axis=(1, 2))
        found += err.min() < 4.
    assert found >= 0.9 * len(anns), (found, len(anns))


def test_decoding_is_deterministic(codec):
    w, h = 160, 128
    _, anns = make_scene(6, image_size=(w, h), seed=3)
    c = KEYPOINT_CODECS.build(
        dict(type='PersonLabCodec', input_size=(w + 1, h + 1),
             output_stride=8, radius=32.))
    maps = _perfect_maps(c, anns, (h, w))
    gen = torch.Generator().manual_seed(0)
    noisy = PersonLabMaps(*[
        m + 0.3 * torch.randn(m.shape, generator=gen) for m in maps[:5]
    ], maps.stride)
    A = np.array([[1., 0, 0], [0, 1., 0]])
    runs = []
    for _ in range(3):
        poses = c.decode(noisy)
        poses['masks'] = c.decode_masks(noisy, poses, A, (h, w))
        runs.append(poses)
    assert len(runs[0]['keypoints']) > 0
    for other in runs[1:]:
        for key in runs[0]:
            assert torch.equal(runs[0][key], other[key]), key
    # fuzz cases too, bit for bit
    for seed in range(50):
        maps, A, image_hw = _random_case(seed)
        a, b = codec.decode(maps), codec.decode(maps)
        for key in a:
            assert torch.equal(a[key], b[key]), (seed, key)
