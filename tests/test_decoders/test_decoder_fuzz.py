"""Decoding never crashes and never returns non-finite people, whatever the
network outputs: property tests over random, degenerate and non-finite maps;
200 people in one image; deterministic output."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from personlab_testing import build_codec, codec_cfg

from personlab_mm.analysis import encoded_to_maps
from personlab_mm.datasets.synthetic import make_scene
from personlab_mm.decoders import PersonLabDecoder, personlab_map_specs
from personlab_mm.functional import input_size_of_grid
from personlab_mm.structures import DenseMaps

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


@pytest.fixture(scope='module')
def codec():
    return build_codec(input_size=(97, 97), output_stride=8, radius=32.)


def _random_case(seed, keypoints):
    rng = np.random.RandomState(seed)
    H, W = rng.randint(1, 13, size=2)
    stride = float(rng.choice([4, 8, 16]))
    dtype = torch.float64 if rng.rand() < 0.2 else torch.float32

    def t(shape):
        return torch.as_tensor(_field(rng, (1, ) + shape,
                                      rng.choice(KINDS)), dtype=dtype)

    maps = DenseMaps(
        dict(heatmaps=t((K, H, W)), short_offsets=t((K, 2, H, W)),
             mid_offsets=t((E, 2, H, W)), long_offsets=t((K, 2, H, W)),
             segmentation=t((1, H, W))), personlab_map_specs(keypoints),
        stride)
    # image -> input: a scale and a shift, sometimes degenerate
    s = rng.choice([0.25, 0.5, 1., 2., 1e-6, 1e6])
    A = np.array([[s, 0., rng.uniform(-20, 20)], [0., s * rng.uniform(0.5, 2),
                                                  rng.uniform(-20, 20)]])
    image_hw = (int(rng.randint(1, 40)), int(rng.randint(1, 40)))
    return maps, A, image_hw


# few seeds and candidates keep 1000 cases fast (random maps are full of
# peaks); a few cases run with the default limits too
SMALL_LIMITS = dict(max_seeds=48, max_candidates=24, max_people=12)


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Tiny maps: thread hand-offs cost more than the work (and the CI
    machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _check(people, image_hw, max_people):
    J = people['keypoints'].shape[0]
    assert J <= max_people
    assert people['keypoints'].shape == (J, K, 2)
    for key in ('keypoints', 'keypoint_scores', 'keypoint_probs', 'scores',
                'scales'):
        assert torch.isfinite(people[key]).all(), key
    for key in ('keypoint_scores', 'keypoint_probs', 'scores'):
        v = people[key]
        assert (v >= 0).all() and (v <= 1).all(), key
    masks = people['masks']
    assert masks.dtype == torch.bool and masks.shape == (J, *image_hw)


def test_decoder_survives_random_and_non_finite_maps(codec):
    small = PersonLabDecoder(codec.keypoints, 32., **SMALL_LIMITS)
    default = PersonLabDecoder(codec.keypoints, 32.)
    for seed in range(NUM_FUZZ):
        maps, A, image_hw = _random_case(seed, codec.keypoints)
        decoder = default if seed % 100 == 0 else small
        try:
            people = decoder.decode(
                maps, input_size_of_grid(maps.grid_hw, maps.stride), A,
                image_hw)
            _check(people, image_hw, decoder.max_people)
        except Exception as e:  # name the failing case
            raise AssertionError(f'fuzz case seed={seed} ({maps}): '
                                 f'{e!r}') from e


def _estimator(codec):
    return MODELS.build(
        dict(type='PersonLabEstimator',
             backbone=dict(type='ResNet', depth=18, base_channels=8,
                           stem_channels=8, strides=(1, 2, 2, 1),
                           dilations=(1, 1, 1, 2)),
             head=dict(type='PersonLabHead', in_channels=64, decoder=codec),
             test_cfg=dict(output_stride=8, **SMALL_LIMITS)))


def _sample(input_size, image_hw):
    w, h = input_size
    s = PoseDataSample()
    # as test pipelines give it (MMPose maps back with numpy arithmetic)
    s.set_metainfo(dict(input_size=(w, h),
                        input_scale=np.array([w * 1.5, h * 1.5]),
                        input_center=np.array([image_hw[1] / 2,
                                               image_hw[0] / 2]),
                        ori_shape=image_hw))
    return s


def test_head_decode_survives_fuzz_in_image_space(codec):
    """The full path to ``pred_instances`` (boxes, inverse warp) too."""
    model = _estimator(
        codec_cfg(input_size=(97, 97), output_stride=8, radius=32.))
    for seed in range(NUM_FUZZ, NUM_FUZZ + 200):
        maps, _, image_hw = _random_case(seed, codec.keypoints)
        sample = _sample(input_size_of_grid(maps.grid_hw, maps.stride),
                         image_hw)
        try:
            preds = model.head.decode(maps, [sample], model.test_cfg)
            model.add_pred_to_datasample(preds, None, [sample])
        except Exception as e:
            raise AssertionError(f'fuzz case seed={seed}: {e!r}') from e
        pred = sample.pred_instances
        assert isinstance(pred, InstanceData)
        for key in ('keypoints', 'keypoint_scores', 'bboxes', 'scores'):
            assert np.isfinite(pred[key]).all(), (seed, key)
        assert pred.masks.shape == (len(pred), *image_hw)


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
    return encoded_to_maps(enc, codec.keypoints, codec.output_stride)


def test_two_hundred_people_in_one_image():
    w, h = 1200, 900
    img, anns = make_scene(200, image_size=(w, h), seed=0)
    assert len(anns) >= 190  # a few fully occluded ones are not annotated
    codec = build_codec(input_size=(w + 1, h + 1), output_stride=4,
                        radius=8.)
    maps = _perfect_maps(codec, anns, (h, w))
    A = np.array([[1., 0, 0], [0, 1., 0]])
    people = PersonLabDecoder(
        codec.keypoints, codec.radius, max_people=250, max_candidates=500,
        max_seeds=4000, nms_radius=3.).decode(maps, (w + 1, h + 1), A,
                                              (h, w))
    J = len(people['keypoints'])
    masks = people['masks']
    assert J >= 0.9 * len(anns), (J, len(anns))
    assert masks.shape == (J, h, w) and masks.any(dim=(1, 2)).sum() > 0.8 * J
    # most people are found to within a few pixels
    gt = np.array([a['keypoints'] for a in anns]).reshape(-1, K, 3)
    pred = people['keypoints'].numpy()
    found = 0
    for g in gt:
        vis = g[:, 2] > 0
        err = np.abs(pred[:, vis] - g[None, vis, :2]).max(axis=(1, 2))
        found += err.min() < 4.
    assert found >= 0.9 * len(anns), (found, len(anns))


def test_decoding_is_deterministic(codec):
    w, h = 160, 128
    _, anns = make_scene(6, image_size=(w, h), seed=3)
    c = build_codec(input_size=(w + 1, h + 1), output_stride=8, radius=32.)
    maps = _perfect_maps(c, anns, (h, w))
    gen = torch.Generator().manual_seed(0)
    noisy = maps.map(
        lambda _, t, __: t + 0.3 * torch.randn(t.shape, generator=gen))
    A = np.array([[1., 0, 0], [0, 1., 0]])
    decoder = PersonLabDecoder(c.keypoints, 32.)
    runs = [decoder.decode(noisy, (w + 1, h + 1), A, (h, w))
            for _ in range(3)]
    assert len(runs[0]['keypoints']) > 0
    for other in runs[1:]:
        for key in runs[0]:
            assert torch.equal(runs[0][key], other[key]), key
    # fuzz cases too, bit for bit
    small = PersonLabDecoder(codec.keypoints, 32., **SMALL_LIMITS)
    for seed in range(50):
        maps, A, image_hw = _random_case(seed, codec.keypoints)
        size = input_size_of_grid(maps.grid_hw, maps.stride)
        a, b = (small.decode(maps, size, A, image_hw) for _ in range(2))
        for key in a:
            assert torch.equal(a[key], b[key]), (seed, key)
