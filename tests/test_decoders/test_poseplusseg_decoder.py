"""PosePlusSeg decoding: body heat map rescoring, centroids of decoded
people, exclusive masks from the mask offsets (Eq. 2-4)."""
import numpy as np
import pytest
import torch
from personlab_testing import build_codec, standing_person

from personlab_mm.analysis import encoded_to_maps
from personlab_mm.decoders import (PosePlusSegDecoder, body_boosted_scores,
                                   exclusive_person_masks, person_centroids,
                                   shared_centroids, weighted_median)

IDENTITY = np.array([[1., 0., 0.], [0., 1., 0.]])


def test_weighted_median():
    values = torch.tensor([[[3.], [1.], [100.], [2.]],
                           [[5.], [7.], [9.], [11.]]])
    weights = torch.tensor([[1., 1., 0., 1.], [0., 0., 0., 0.]])
    median = weighted_median(values, weights)
    assert median[0, 0] == 2.  # 100 has no weight
    assert torch.isnan(median[1, 0])  # no weight at all
    heavy = weighted_median(values[:1], torch.tensor([[1., 1., 5., 1.]]))
    assert heavy[0, 0] == 100.


def test_body_boost_raises_scores_by_the_body_heat_map():
    s = torch.tensor([[0.5, 0.2, 1.0, 0.0]])
    b = torch.tensor([[0.5, 0.0, 0.3, 1.0]])
    np.testing.assert_allclose(
        body_boosted_scores(s, b, 1.).numpy(), [[0.75, 0.2, 1.0, 1.0]])
    np.testing.assert_allclose(body_boosted_scores(s, b, 0.).numpy(),
                               s.numpy())
    r = torch.rand(50, 17)
    boosted = body_boosted_scores(r, torch.rand(50, 17), 0.7)
    assert (boosted >= r).all() and (boosted <= 1).all()


def _codec(size=(129, 129), **kw):
    return build_codec(type='PosePlusSegCodec', input_size=size,
                       output_stride=8, radius=32., **kw)


def _overlapping_people(codec):
    """Two people side by side whose box masks overlap in a band."""
    people = np.stack([standing_person(48, 64, 90),
                       standing_person(80, 64, 90)])
    W, H = codec.heatmap_size
    xs, ys = codec.grid_points()
    masks = np.zeros((2, H, W), np.float32)
    masks[0] = (xs[None] >= 24) & (xs[None] <= 72) & (ys[:, None] >= 16) \
        & (ys[:, None] <= 112)
    masks[1] = (xs[None] >= 56) & (xs[None] <= 104) & (ys[:, None] >= 16) \
        & (ys[:, None] <= 112)
    return people, masks


def test_centroids_read_where_the_persons_pixels_point():
    codec = _codec()
    people, masks = _overlapping_people(codec)
    enc = codec.encode(people, np.ones(people.shape[:2]), masks)
    maps = encoded_to_maps(enc, codec.keypoints, 8.)
    probs = torch.ones(2, 17)
    kp = torch.as_tensor(people)
    found = person_centroids(kp, probs, maps['segmentation'][0, 0],
                             maps['mask_offsets'][0, 0], 8.)
    xs, ys = codec.grid_points()
    for j in range(2):  # the coverage-weighted mean of each mask
        mean = [(masks[j] * xs[None]).sum() / masks[j].sum(),
                (masks[j] * ys[:, None]).sum() / masks[j].sum()]
        np.testing.assert_allclose(found[j].numpy(), mean, atol=1e-3)
    # a keypoint centroid is the decoded keypoint itself
    at_shoulder = person_centroids(kp, probs, maps['segmentation'][0, 0],
                                   maps['mask_offsets'][0, 0], 8., 6)
    np.testing.assert_array_equal(at_shoulder.numpy(), people[:, 6])
    # nobody's keypoints on person pixels: the mean of its keypoints
    far = person_centroids(kp + 500., probs, maps['segmentation'][0, 0],
                           maps['mask_offsets'][0, 0], 8.)
    np.testing.assert_allclose(far.numpy(), (kp + 500.).mean(1).numpy(),
                               atol=1e-3)


@pytest.mark.parametrize('mode', ['grid', 'pixel'])
def test_overlapping_people_get_disjoint_masks(mode):
    codec = _codec()
    people, masks = _overlapping_people(codec)
    enc = codec.encode(people, np.ones(people.shape[:2]), masks)
    maps = encoded_to_maps(enc, codec.keypoints, 8.)
    decoder = PosePlusSegDecoder(codec.keypoints, codec.radius,
                                 mask_mode=mode)
    out = decoder.decode(maps, (129, 129), IDENTITY, (129, 129))
    assert out['keypoints'].shape[0] == 2
    m = out['masks'].numpy()
    assert not (m[0] & m[1]).any()  # exclusive
    # each decoded person takes the cells it owns alone, left or right
    left = int(out['keypoints'][:, :, 0].mean(1).argmin())
    assert m[left][64, 30] and not m[left][64, 100]
    assert m[1 - left][64, 100] and not m[1 - left][64, 30]
    # the shared band x 56-72 is split between them, nothing is lost
    union = m[0] | m[1]
    assert union[20:108, 30:100].all()


@pytest.mark.parametrize('mode', ['grid', 'pixel'])
def test_pixels_far_from_every_centroid_stay_unassigned(mode):
    seg = torch.ones(5, 5)
    offsets = torch.zeros(2, 5, 5)  # every cell is its own embedding
    masks = exclusive_person_masks(
        seg, offsets, 8., torch.tensor([[16., 16.]]), torch.tensor([40.]),
        None, torch.as_tensor(IDENTITY, dtype=torch.float32), (33, 33),
        distance_threshold=0.25, mode=mode)  # 10 px around (16, 16)
    # the threshold holds where one of the 4 cells around a pixel is within
    # 10 px of (16, 16): the 5 cells (8|16|24, 16) and (16, 8|24)
    yy, xx = np.mgrid[:33, :33]
    x0, y0 = np.floor(xx / 8.) * 8., np.floor(yy / 8.) * 8.
    expected = np.zeros((33, 33), bool)
    for dx in (0, 8):
        for dy in (0, 8):
            expected |= np.hypot(x0 + dx - 16, y0 + dy - 16) <= 10
    np.testing.assert_array_equal(masks[0].numpy(), expected)


def test_body_boost_setting_and_codec_arguments():
    codec = _codec()
    assert 'body_boost' in PosePlusSegDecoder.setting_names()
    assert 'centroid_index' not in PosePlusSegDecoder.setting_names()
    with pytest.raises(ValueError, match='body_boost'):
        PosePlusSegDecoder(codec.keypoints, 32., body_boost=2.)
    with pytest.raises(ValueError, match='centroid_index 17'):
        PosePlusSegDecoder(codec.keypoints, 32., centroid_index=17)
    with pytest.raises(ValueError, match=r"lack \['body_heatmap', "
                       "'mask_offsets'\\]"):
        people, masks = _overlapping_people(codec)
        enc = codec.encode(people, np.ones(people.shape[:2]), masks)
        del enc['body_heatmap'], enc['mask_offsets']
        maps = encoded_to_maps(enc, codec.keypoints, 8.)
        PosePlusSegDecoder(codec.keypoints, 32.).decode(maps, (129, 129))


def test_second_poses_of_a_body_share_its_mask():
    centroids = torch.tensor([[50., 50.], [200., 50.], [55., 50.],
                              [205., 52.], [120., 50.]])
    scales = torch.tensor([40., 40., 40., 40., 40.])  # t * scale = 10 px
    owner = shared_centroids(centroids, scales, 0.25)
    # 2 is 5 px from 0, 3 is 5.4 px from 1: they take those masks
    assert owner.tolist() == [0, 1, 0, 1, 4]
    # a better person that is itself a duplicate does not own: 2 -> 0
    chained = shared_centroids(torch.tensor([[0., 0.], [8., 0.], [16., 0.]]),
                               torch.full((3,), 40.), 0.25)
    assert chained.tolist() == [0, 0, 2]
    # padding never owns
    valid = torch.tensor([False, True, True, True, True])
    assert shared_centroids(centroids, scales, 0.25, valid)[1:].tolist() == [
        1, 2, 1, 4]
