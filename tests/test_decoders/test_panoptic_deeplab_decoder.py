"""Panoptic-DeepLab post-processing: a straightforward per-pixel reference
on random inputs, perfect outputs, settings errors."""
import numpy as np
import pytest
import torch

from personlab_mm.decoders import PanopticDeepLabDecoder

C, THINGS, OFFSET = 5, 2, 1000


def _reference(logits, centre, offsets, threshold, kernel, top_k,
               stuff_area):
    """Panoptic-DeepLab post-processing written pixel by pixel."""
    C, h, w = logits.shape
    semantic = logits.argmax(0)
    probs = torch.softmax(logits.double(), 0).numpy()
    semantic = semantic.numpy()
    centre = centre.numpy()
    r = kernel // 2
    peaks = []
    for y in range(h):
        for x in range(w):
            v = centre[y, x]
            window = centre[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1]
            if v >= threshold and v >= window.max():
                peaks.append((-v, y * w + x, x, y))
    peaks = sorted(peaks)[:top_k]
    ids = np.zeros((h, w), dtype=np.int64)
    for y in range(h):
        for x in range(w):
            if semantic[y, x] < THINGS and peaks:
                vx = x + offsets[0, y, x].item()
                vy = y + offsets[1, y, x].item()
                d = [(vx - px)**2 + (vy - py)**2 for _, _, px, py in peaks]
                ids[y, x] = int(np.argmin(d)) + 1
    pan = np.full((h, w), C, dtype=np.int64)
    instances = []
    for k, (neg, _, _, _) in enumerate(peaks):
        inside = ids == k + 1
        if not inside.any():
            continue
        label = int(np.bincount(semantic[inside], minlength=C).argmax())
        pan[inside] = label + (k + 1) * OFFSET
        instances.append((label, -neg * probs[label][inside].mean(),
                          inside))
    for c in range(THINGS, C):
        stuff = semantic == c
        if stuff.sum() >= stuff_area:
            pan[stuff] = c
    return semantic, pan, instances


def _random_maps(seed, h=14, w=17):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(C, h, w, generator=g) * 2
    # smooth bumps so that centres are few and well separated
    centre = torch.rand(h, w, generator=g) * 0.3
    for _ in range(int(torch.randint(0, 5, (1, ), generator=g))):
        cy, cx = torch.randint(0, h, (1, ), generator=g), torch.randint(
            0, w, (1, ), generator=g)
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w),
                                indexing='ij')
        bump = torch.exp(-((yy - cy)**2 + (xx - cx)**2) / 8.)
        centre = torch.maximum(centre, bump * (0.5 + torch.rand(
            1, generator=g)))
    offsets = torch.randn(2, h, w, generator=g) * 3
    return logits, centre, offsets


@pytest.mark.parametrize('seed', range(10))
def test_decoder_matches_the_per_pixel_reference(seed):
    logits, centre, offsets = _random_maps(seed)
    settings = dict(threshold=0.25, nms_kernel=3, top_k=4, stuff_area=20)
    decoder = PanopticDeepLabDecoder(THINGS, C, **settings)
    result = decoder(logits, centre, offsets)
    semantic, pan, instances = _reference(logits, centre, offsets,
                                          settings['threshold'], 3, 4, 20)
    np.testing.assert_array_equal(result.semantic.numpy(), semantic)
    np.testing.assert_array_equal(result.panoptic.numpy(), pan)
    assert len(result.labels) == len(instances)
    for k, (label, score, mask) in enumerate(instances):
        assert result.labels[k] == label
        assert result.scores[k].item() == pytest.approx(score, rel=1e-5)
        np.testing.assert_array_equal(result.masks[k].numpy(), mask)
        ys, xs = np.nonzero(mask)
        assert result.boxes[k].tolist() == [xs.min(), ys.min(),
                                            xs.max() + 1, ys.max() + 1]


def test_perfect_outputs_reproduce_the_panoptic_ground_truth():
    """Two things of class 0 and 1, stuff 2 and 3: logits one-hot, centre
    1 at each instance's centre, offsets pointing there."""
    h, w = 12, 20
    truth = np.full((h, w), 2)
    truth[:, 12:] = 3
    instance = np.zeros((h, w), dtype=np.int64)
    instance[2:7, 1:6] = 1
    instance[6:11, 9:16] = 2
    truth[instance == 1] = 0
    truth[instance == 2] = 1
    logits = torch.nn.functional.one_hot(torch.from_numpy(truth), C).permute(
        2, 0, 1).float() * 10
    centre = torch.zeros(h, w)
    offsets = torch.zeros(2, h, w)
    yy, xx = np.mgrid[0:h, 0:w]
    for k in (1, 2):
        cy, cx = yy[instance == k].mean(), xx[instance == k].mean()
        centre[int(round(cy)), int(round(cx))] = 1.
        offsets[0][torch.from_numpy(instance == k)] = torch.from_numpy(
            cx - xx[instance == k]).float()
        offsets[1][torch.from_numpy(instance == k)] = torch.from_numpy(
            cy - yy[instance == k]).float()
    result = PanopticDeepLabDecoder(THINGS, C, stuff_area=1)(logits, centre,
                                                             offsets)
    want = truth.copy()
    # centres come out strongest first; ties in flat order: instance 1
    want[instance == 1] = 0 + 1 * OFFSET
    want[instance == 2] = 1 + 2 * OFFSET
    np.testing.assert_array_equal(result.panoptic.numpy(), want)
    assert result.labels.tolist() == [0, 1]
    assert result.scores.tolist() == pytest.approx([1., 1.], abs=1e-3)


def test_no_centre_leaves_thing_pixels_void():
    logits = torch.zeros(C, 4, 5)
    logits[0] = 5.  # every pixel a thing of class 0
    result = PanopticDeepLabDecoder(THINGS, C)(logits, torch.zeros(4, 5),
                                               torch.zeros(2, 4, 5))
    assert (result.panoptic == C).all() and result.masks.shape == (0, 4, 5)
    assert result.boxes.shape == (0, 4)


def test_settings_errors():
    with pytest.raises(ValueError, match='num_things'):
        PanopticDeepLabDecoder(6, 5)
    with pytest.raises(ValueError, match='instance_offset'):
        PanopticDeepLabDecoder(2, 5, top_k=1000)
    with pytest.raises(ValueError, match='3 semantic channels'):
        PanopticDeepLabDecoder(2, 5)(torch.zeros(3, 2, 2), torch.zeros(2, 2),
                                     torch.zeros(2, 2, 2))
