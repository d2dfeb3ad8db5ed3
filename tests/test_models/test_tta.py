"""Test-time augmentation on DenseMaps: flip-back, rescaling and fusion by
kind, for PersonLab's maps and for fields of other methods."""
import numpy as np
import torch
from personlab_testing import build_codec, standing_person

from personlab_mm.analysis import encoded_to_maps
from personlab_mm.decoders import PersonLabDecoder
from personlab_mm.models.utils.tta import (average, flip_back, pyramid_sizes,
                                           rescale_to)
from personlab_mm.structures import DenseMaps, FieldSpec


def _maps(codec, people, device):
    kp = np.stack(people)
    W, H = codec.heatmap_size
    xs, ys = codec.grid_points()
    masks = []
    for p in kp:
        lo, hi = p.min(0) - 6, p.max(0) + 6
        masks.append((xs[None] >= lo[0]) & (xs[None] <= hi[0]) &
                     (ys[:, None] >= lo[1]) & (ys[:, None] <= hi[1]))
    enc = codec.encode(kp, np.ones(kp.shape[:2]), np.stack(masks))
    return encoded_to_maps(enc, codec.keypoints, codec.output_stride, device)


def _match(pred, gt):
    return max(np.abs(pred - g[None]).max(axis=(1, 2)).min() for g in gt)


def _flipped_person(p, width, flip):
    f = p[list(flip)].copy()
    f[:, 0] = width - 1 - f[:, 0]
    return f


def _decode(codec, maps, size):
    return PersonLabDecoder(codec.keypoints, codec.radius).decode(
        maps, (size, size))['keypoints'].cpu().numpy()


def test_flip_back_restores_the_maps_and_people(device):
    codec = build_codec(input_size=(257, 257), output_stride=8)
    flip = codec.keypoints.flip_indices
    a, b = standing_person(100, 130, 180), standing_person(170, 120, 150)
    plain = _maps(codec, [a, b], device)
    flipped = _maps(codec, [_flipped_person(a, 257, flip),
                            _flipped_person(b, 257, flip)], device)
    back = flip_back(flipped, 257)
    for name in ('heatmaps', 'short_offsets', 'mid_offsets'):
        torch.testing.assert_close(back[name], plain[name], atol=1e-4,
                                   rtol=0)
    fused = average([plain, back])
    kp = _decode(codec, fused, 257)
    assert len(kp) == 2 and _match(kp, [a, b]) < 1e-2


def test_multiscale_maps_fuse_to_the_same_people(device):
    size, f, big = 257, 1.5, 385  # 257 -> 385 px (corner-aligned)
    codec = build_codec(input_size=(size, size), output_stride=8)
    codec_big = build_codec(input_size=(big, big), output_stride=8)
    a, b = standing_person(100, 130, 180), standing_person(170, 120, 150)
    plain = _maps(codec, [a, b], device)
    scaled = _maps(codec_big, [a * f, b * f], device)
    back = rescale_to(scaled, (big, big), (size, size), plain.grid_hw)
    kp = _decode(codec, average([plain, back]), size)
    assert len(kp) == 2 and _match(kp, [a, b]) < 0.5
    sizes = pyramid_sizes((257, 193), [385, 257], 8)
    assert sizes == [(257, 193), (385, 289)]


def test_other_methods_fields_need_no_changes():
    """Semantic logits, a centre heatmap, centre offsets and embeddings:
    flipped, rescaled and fused by kind."""
    specs = dict(semantic=FieldSpec('logits'),
                 centre=FieldSpec('probability'),
                 centre_offsets=FieldSpec('offset', weight='centre'),
                 embedding=FieldSpec('embedding'))
    gen = torch.Generator().manual_seed(0)
    H, W, s = 5, 9, 4.
    t = dict(semantic=torch.randn(1, 3, H, W, generator=gen),
             centre=torch.rand(1, 1, H, W, generator=gen),
             centre_offsets=torch.randn(1, 1, 2, H, W, generator=gen),
             embedding=torch.randn(1, 4, H, W, generator=gen))
    maps = DenseMaps(t, specs, s)
    width = int((W - 1) * s) + 1
    mirrored = maps.map(lambda n, x, spec: x.flip(-1))
    back = flip_back(mirrored, width)
    torch.testing.assert_close(back['semantic'], t['semantic'])
    torch.testing.assert_close(back['centre_offsets'][:, :, 1],
                               t['centre_offsets'][:, :, 1])
    torch.testing.assert_close(back['centre_offsets'][:, :, 0],
                               -t['centre_offsets'][:, :, 0])
    fused = average([maps, back])
    torch.testing.assert_close(fused['semantic'],
                               (t['semantic'] + back['semantic']) / 2)
    assert torch.equal(fused['embedding'], t['embedding'])  # not fused
    w = t['centre'][:, :, None]
    wb = back['centre'][:, :, None]
    want = (t['centre_offsets'] * w + back['centre_offsets'] * wb) / (w + wb)
    torch.testing.assert_close(fused['centre_offsets'], want)
    half = rescale_to(maps, (H, W), (H, W), (H, W))
    torch.testing.assert_close(half['centre_offsets'], t['centre_offsets'])


def _ramp_maps(x):
    """A flip- and scale-equivariant toy predictor at stride 1: logits =
    the input, centre = its mean, offsets to the input's middle column."""
    from personlab_mm.models.heads.panoptic_deeplab_head import \
        PANOPTIC_DEEPLAB_FIELDS
    B, _, H, W = x.shape
    cols = torch.arange(W, dtype=x.dtype).expand(B, 1, H, W)
    dx = (W - 1) / 2. - cols
    offsets = torch.stack([dx, torch.zeros_like(dx)], dim=2)
    return DenseMaps(dict(semantic=x, centre=x.mean(1, keepdim=True),
                          offsets=offsets), PANOPTIC_DEEPLAB_FIELDS, 1)


def test_fuse_scaled_inputs_undoes_flips_and_scales_exactly():
    from personlab_mm.models.utils.tta import (fuse_scaled_inputs,
                                               scaled_input_size)
    H, W = 9, 13
    rows = torch.arange(H, dtype=torch.float32)[:, None]
    cols = torch.arange(W, dtype=torch.float32)[None]
    x = torch.stack([2 * cols + rows, cols - rows,
                     0.5 * rows + 0 * cols])[None]
    plain = _ramp_maps(x)
    one = fuse_scaled_inputs(_ramp_maps, x, (1., ), False, 1)
    for name in plain:
        assert torch.equal(one[name], plain[name])
    fused = fuse_scaled_inputs(_ramp_maps, x, (0.5, 1., 1.5), True, 1)
    assert fused.grid_hw == (H, W)
    for name in plain:
        assert torch.allclose(fused[name], plain[name], atol=1e-4), name
    assert scaled_input_size((9, 13), 0.5) == (5, 7)
