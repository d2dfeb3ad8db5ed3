"""PersonLabCodec.encode against hand-computed targets."""
import numpy as np
import pytest
from mmpose.registry import KEYPOINT_CODECS
from personlab_testing import codec_cfg

from personlab_mm.codecs import PersonLabCodec

NOSE, L_EYE, R_EYE = 0, 1, 2


def _codec(**kw):
    # 33x33 input at stride 4: a 9x9 grid, cell (ix, iy) at (4 ix, 4 iy);
    # radius 6 px covers the 3x3 cells around a keypoint on a cell
    cfg = codec_cfg(input_size=(33, 33), output_stride=4, radius=6.)
    cfg.update(kw)
    return KEYPOINT_CODECS.build(cfg)


def _two_people():
    kpts = np.zeros((3, 17, 2), np.float32)
    vis = np.zeros((3, 17), np.float32)
    kpts[0, NOSE], vis[0, NOSE] = (8, 8), 1  # person A
    kpts[0, L_EYE], vis[0, L_EYE] = (12, 8), 1
    kpts[1, NOSE], vis[1, NOSE] = (17, 8), 1  # person B, left eye unlabelled
    kpts[1, L_EYE] = (100, 100)  # junk coordinates of an unlabelled keypoint
    masks = np.zeros((3, 9, 9), bool)
    masks[0, 1:5, 1:4] = True  # A: columns 1-3
    masks[1, 1:5, 3:6] = True  # B: columns 3-5, overlapping A in column 3
    masks[2, 7:9, 0:2] = True  # C: a person without keypoints
    crowd = np.zeros((9, 9), bool)
    crowd[6:9, 7:9] = True
    return kpts, vis, masks, crowd


def test_build_and_grid():
    codec = _codec()
    assert isinstance(codec, PersonLabCodec)
    assert codec.heatmap_size == (9, 9)
    assert codec.num_edges == 32
    big = KEYPOINT_CODECS.build(codec_cfg())
    assert big.heatmap_size == (51, 51)  # 801 px at stride 16


def test_encode_shapes_and_dtypes():
    codec = _codec()
    enc = codec.encode(*_two_people())
    shapes = dict(heatmaps=(17, 9, 9), heatmap_weights=(1, 9, 9),
                  short_offsets=(34, 9, 9), short_weights=(17, 9, 9),
                  mid_offsets=(64, 9, 9), mid_weights=(32, 9, 9),
                  long_offsets=(34, 9, 9), long_weights=(17, 9, 9),
                  segmentation=(1, 9, 9), segmentation_weights=(1, 9, 9))
    assert set(enc) == set(shapes) == set(codec.field_mapping_table)
    for key, shape in shapes.items():
        assert enc[key].shape == shape, key
        assert enc[key].dtype == np.float32, key


def test_heatmaps_and_short_offsets_by_hand():
    codec = _codec()
    enc = codec.encode(*_two_people())
    hm = enc['heatmaps'][NOSE]
    expected = np.zeros((9, 9), np.float32)
    # A's nose (8, 8): cells x in {4, 8, 12}, y in {4, 8, 12}
    expected[1:4, 1:4] = 1
    # B's nose (17, 8): cells within 6 px
    for ix in range(9):
        for iy in range(9):
            if (4 * ix - 17)**2 + (4 * iy - 8)**2 <= 36:
                expected[iy, ix] = 1
    np.testing.assert_array_equal(hm, expected)
    short = enc['short_offsets'].reshape(17, 2, 9, 9)
    # overlap cell (12, 8): 4 px from A's nose, 5 px from B's -> points to A
    np.testing.assert_allclose(short[NOSE, :, 2, 3], [-4, 0])
    # cell (16, 8) only in B's disk
    np.testing.assert_allclose(short[NOSE, :, 2, 4], [1, 0])
    np.testing.assert_allclose(short[NOSE, :, 3, 4], [1, -4])
    np.testing.assert_array_equal(enc['short_weights'], enc['heatmaps'])
    # outside every disk: no target
    assert short[NOSE, :, 8, 8].tolist() == [0, 0]
    # left eye of A at (12, 8): 3x3 block around cell (3, 2)
    assert enc['heatmaps'][L_EYE].sum() == 9
    assert enc['heatmaps'][L_EYE, 1:4, 2:5].all()


def test_mid_offsets_need_both_keypoints():
    codec = _codec()
    enc = codec.encode(*_two_people())
    e = codec.edges.index((NOSE, L_EYE))
    mid = enc['mid_offsets'].reshape(32, 2, 9, 9)[e]
    w = enc['mid_weights'][e]
    # A's nose disk cells (owned by A) point at A's left eye (12, 8)
    np.testing.assert_allclose(mid[:, 2, 2], [4, 0])
    np.testing.assert_allclose(mid[:, 1, 1], [8, 4])
    np.testing.assert_allclose(mid[:, 2, 3], [0, 0])  # overlap cell -> A
    assert w[2, 3] == 1 and w[2, 2] == 1
    # B's nose cells: B's left eye is unlabelled -> no target
    assert w[2, 4] == 0 and w[2, 5] == 0
    assert mid[:, 2, 4].tolist() == [0, 0]
    # reverse edge left_eye -> nose, from A's eye disk
    r = codec.edges.index((L_EYE, NOSE))
    rev = enc['mid_offsets'].reshape(32, 2, 9, 9)[r]
    np.testing.assert_allclose(rev[:, 2, 3], [-4, 0])
    assert enc['mid_weights'][r].sum() == 9
    # edges of unlabelled keypoints carry nothing
    e_ear = codec.edges.index((L_EYE, 3))
    assert enc['mid_weights'][e_ear].sum() == 0


def test_long_range_only_where_one_person_covers():
    codec = _codec()
    enc = codec.encode(*_two_people())
    long = enc['long_offsets'].reshape(17, 2, 9, 9)
    lw = enc['long_weights']
    # column 2 belongs to A only
    np.testing.assert_allclose(long[NOSE, :, 4, 2], [8 - 8, 8 - 16])
    np.testing.assert_allclose(long[L_EYE, :, 1, 1], [12 - 4, 8 - 4])
    assert lw[NOSE, 4, 2] == 1 and lw[L_EYE, 4, 2] == 1
    # column 3: A and B overlap -> ignored
    assert lw[:, 1:5, 3].sum() == 0
    # column 4 belongs to B: nose labelled, left eye not
    np.testing.assert_allclose(long[NOSE, :, 1, 4], [17 - 16, 8 - 4])
    assert lw[NOSE, 1, 4] == 1 and lw[L_EYE, 1, 4] == 0
    # the keypoint-less person C and the background carry no long target
    assert lw[:, 7:9, 0:2].sum() == 0
    assert lw[:, 0, :].sum() == 0


def test_weights_for_crowd_and_keypointless_people():
    codec = _codec()
    kpts, vis, masks, crowd = _two_people()
    enc = codec.encode(kpts, vis, masks, crowd)
    hw = enc['heatmap_weights'][0]
    expected = np.ones((9, 9), np.float32)
    expected[6:9, 7:9] = 0  # crowd
    expected[7:9, 0:2] = 0  # C has no keypoints
    np.testing.assert_array_equal(hw, expected)
    seg = enc['segmentation'][0]
    np.testing.assert_array_equal(seg, masks.any(0).astype(np.float32))
    assert seg[7, 0] == 1  # C is a person for segmentation
    sw = enc['segmentation_weights'][0]
    np.testing.assert_array_equal(sw, (~crowd).astype(np.float32))


def test_people_without_masks_own_their_keypoint_disks():
    """Keypoint-only annotations: long-range offsets trained inside each
    person's keypoint disks (cells of one person only), no segmentation
    trained anywhere."""
    codec = _codec()
    kpts, vis, _, crowd = _two_people()
    masked = np.array([True, False, False])
    masks = np.zeros((3, 9, 9), bool)
    masks[0, 1:5, 1:4] = True  # A has its mask
    enc = codec.encode(kpts, vis, masks, crowd, masked=masked)
    long = enc['long_offsets'].reshape(17, 2, 9, 9)
    lw = enc['long_weights']
    # B's nose (17, 8) has the disk of radius 6: cells (4, 2) at (16, 8)
    # and (5, 2) at (20, 8), (4, 1) at (16, 4), ...; (3, 2) at (12, 8) is
    # 5 px away too but inside A's mask as well: not trained
    assert lw[NOSE, 2, 4] == 1 and lw[NOSE, 2, 5] == 1 and lw[NOSE, 1, 4]
    np.testing.assert_allclose(long[NOSE, :, 2, 5], [17 - 20, 8 - 8])
    assert lw[NOSE, 2, 3] == 0
    assert lw[L_EYE, 2, 4] == 0  # B's left eye is unlabelled
    # far from B's keypoints nothing is B's
    assert lw[:, 6:9, 3:6].sum() == 0 and lw[:, :, 7:].sum() == 0
    # A is unchanged
    np.testing.assert_allclose(long[NOSE, :, 4, 2], [8 - 8, 8 - 16])
    assert lw[NOSE, 4, 2] == 1
    # a mask-less person: the image's segmentation is not trained
    assert enc['segmentation_weights'].sum() == 0
    np.testing.assert_array_equal(enc['segmentation'][0],
                                  masks.any(0).astype(np.float32))
    # heatmaps, short and mid-range targets do not depend on masks
    plain = codec.encode(kpts, vis, masks, crowd)
    for key in ('heatmaps', 'short_offsets', 'mid_offsets',
                'heatmap_weights'):
        np.testing.assert_array_equal(enc[key], plain[key])
    assert plain['segmentation_weights'].sum() > 0


def test_min_keypoints_excludes_sparse_people():
    codec = _codec(min_keypoints=2)
    kpts, vis, masks, crowd = _two_people()
    enc = codec.encode(kpts, vis, masks, crowd)
    # B has one labelled keypoint: no disk, and its mask is ignored
    assert enc['heatmaps'][NOSE, 2, 4] == 0
    assert enc['heatmap_weights'][0, 1:5, 4:6].sum() == 0
    assert enc['heatmaps'][NOSE, 2, 2] == 1  # A still trained


def test_empty_image():
    codec = _codec()
    enc = codec.encode(np.zeros((0, 17, 2)), np.zeros((0, 17)),
                       np.zeros((0, 9, 9), bool), None)
    assert enc['heatmaps'].sum() == 0 and enc['segmentation'].sum() == 0
    assert enc['heatmap_weights'].min() == 1


@pytest.mark.parametrize('kw,msg', [
    (dict(output_stride=0), 'output_stride'),
    (dict(radius=-1.), 'radius'),
    (dict(tree_edges=[(0, 1)]), 'edges'),
    (dict(tree_edges='no_such_tree'), 'unknown tree'),
    (dict(metainfo=None), 'metainfo'),
    (dict(decoder=dict(max_people=3)), 'test_cfg'),
])
def test_bad_codec_config(kw, msg):
    with pytest.raises(ValueError, match=msg):
        _codec(**kw)


def test_bad_encode_input():
    codec = _codec()
    kpts, vis, masks, crowd = _two_people()
    with pytest.raises(ValueError, match='keypoints'):
        codec.encode(kpts[:, :5], vis[:, :5])
    with pytest.raises(ValueError, match='person_masks'):
        codec.encode(kpts, vis, masks[:, :5])
    with pytest.raises(ValueError, match='masked'):
        codec.encode(kpts, vis, masks, masked=np.ones(2, bool))
