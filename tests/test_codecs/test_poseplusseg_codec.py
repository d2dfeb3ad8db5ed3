"""PosePlusSegCodec: the body heat map and the mask offsets against
hand-computed targets (two overlapping people, a crowd, a flipped sample,
a keypoint centroid that is not labelled, bad settings)."""
import numpy as np
import pytest
from mmpose.datasets.transforms import RandomFlip
from mmpose.registry import KEYPOINT_CODECS, TRANSFORMS
from personlab_testing import coco_keypoints, codec_cfg

NOSE, L_EYE, R_SHOULDER = 0, 1, 6


def _codec(**kw):
    # 33x33 input at stride 8: a 5x5 grid, cell (row, col) at input pixel
    # (8 col, 8 row); radius 8 covers a cell and its 4 direct neighbours
    cfg = codec_cfg(type='PosePlusSegCodec', input_size=(33, 33),
                    output_stride=8, radius=8.)
    cfg.update(kw)
    return KEYPOINT_CODECS.build(cfg)


def _people():
    """A: nose (8, 8), left eye (16, 8), right shoulder (4, 12), mask rows
    and columns 0-2; B: nose (24, 16) only, mask rows and columns 2-4."""
    kpts = np.zeros((2, 17, 2), np.float32)
    vis = np.zeros((2, 17), np.float32)
    kpts[0, [NOSE, L_EYE, R_SHOULDER]] = [(8, 8), (16, 8), (4, 12)]
    vis[0, [NOSE, L_EYE, R_SHOULDER]] = 1
    kpts[1, NOSE], vis[1, NOSE] = (24, 16), 1
    masks = np.zeros((2, 5, 5), np.float32)
    masks[0, 0:3, 0:3] = 1
    masks[1, 2:5, 2:5] = 1  # overlaps A in cell (2, 2)
    return kpts, vis, masks


def test_body_heatmap_counts_a_persons_disks_and_takes_the_max():
    kpts, vis, _ = _people()
    vis[0, R_SHOULDER] = 0  # A: two disks, (8, 8) and (16, 8)
    body = _codec().encode(kpts, vis)['body_heatmap'][0]
    expected = np.zeros((5, 5), np.float32)
    # A's nose disk: cells (1, 1) and its 4 neighbours; left eye: (1, 2) ..
    for r, c in ((1, 1), (0, 1), (2, 1), (1, 0), (1, 2)):
        expected[r, c] += 0.4
    for r, c in ((1, 2), (0, 2), (2, 2), (1, 1), (1, 3)):
        expected[r, c] += 0.4
    # B's nose (24, 16): cell (2, 3) and neighbours; at (2, 2) and (1, 3) A
    # has one disk too: the maximum (0.4), not the sum
    for r, c in ((2, 3), (1, 3), (3, 3), (2, 2), (2, 4)):
        expected[r, c] = max(expected[r, c], 0.4)
    np.testing.assert_allclose(body, expected, atol=1e-6)
    assert body.max() == pytest.approx(0.8)


def test_body_heatmap_saturates_at_one_and_follows_alpha():
    kpts = np.full((1, 17, 2), 16., np.float32)  # 17 disks on one cell
    out = _codec(body_alpha=0.25).encode(kpts, np.ones((1, 17)))
    assert out['body_heatmap'][0, 2, 2] == 1.  # 17 * 0.25 clipped
    assert out['body_heatmap'][0, 0, 0] == 0.  # outside every disk
    assert out['body_heatmap'].dtype == np.float32


def test_mask_offsets_point_to_the_mask_mean_of_the_owner():
    kpts, vis, masks = _people()
    crowd = np.zeros((5, 5), np.float32)
    crowd[4, 1] = 1  # in B's one-cell ring
    out = _codec().encode(kpts, vis, masks, crowd_mask=crowd)
    mo, w = out['mask_offsets'], out['mask_offset_weights'][0]
    # A's mask mean: (8, 8); B's: (24, 24)
    np.testing.assert_allclose(mo[:, 0, 0], [8., 8.])  # A alone: trained
    assert w[0, 0] == 1
    np.testing.assert_allclose(mo[:, 4, 4], [24. - 32., 24. - 32.])
    assert w[4, 4] == 1
    # the cell both own: the smaller person's target (equal: the first),
    # not trained
    np.testing.assert_allclose(mo[:, 2, 2], [8. - 16., 8. - 16.])
    assert w[2, 2] == 0
    # A's ring: cell (row 0, col 3) at (24, 0) points to A, not trained
    np.testing.assert_allclose(mo[:, 0, 3], [8. - 24., 8. - 0.])
    assert w[0, 3] == 0
    # the crowd cell gets nothing
    assert (mo[:, 4, 1] == 0).all() and w[4, 1] == 0
    assert w.sum() == 9 + 9 - 2  # both masks minus the shared cell


def test_keypoint_centroid_and_a_person_without_that_keypoint():
    kpts, vis, masks = _people()
    codec = _codec(centroid='right_shoulder')
    assert codec.centroid_index == R_SHOULDER
    out = codec.encode(kpts, vis, masks)
    mo, w = out['mask_offsets'], out['mask_offset_weights'][0]
    # A: to its right shoulder (4, 12)
    np.testing.assert_allclose(mo[:, 1, 0], [4. - 0., 12. - 8.])
    assert w[1, 0] == 1
    # B has no right shoulder: offsets to its mask mean, not trained
    np.testing.assert_allclose(mo[:, 4, 4], [24. - 32., 24. - 32.])
    assert w[2:5, 2:5].sum() == 0


def test_people_without_cells_and_without_people():
    codec = _codec()
    kpts, vis, masks = _people()
    masks[1] = 0  # B's mask cropped away: B has keypoints but no cell
    out = codec.encode(kpts, vis, masks)
    assert np.isfinite(out['mask_offsets']).all()
    assert out['mask_offset_weights'][0].sum() == 9  # A's cells only
    assert not out['mask_offsets'][:, 4, 4].any()  # B's old cell: nothing
    empty = codec.encode(np.zeros((0, 17, 2)), np.zeros((0, 17)),
                         np.zeros((0, 5, 5)))
    for key in ('body_heatmap', 'mask_offsets', 'mask_offset_weights'):
        assert not empty[key].any(), key


def test_flipped_sample_mirrors_body_heatmap_and_mask_offsets():
    def results():
        kpts, vis, _ = _people()
        return dict(
            img=np.zeros((33, 33, 3), np.uint8), img_shape=(33, 33),
            ori_shape=(33, 33), input_size=(33, 33),
            warp_mat=np.array([[1., 0., 0.], [0., 1., 0.]], np.float32),
            img_path='unit.jpg', keypoints=kpts, keypoints_visible=vis,
            flip_indices=list(coco_keypoints().flip_indices),
            raw_ann_info=[
                dict(id=1, iscrowd=0,
                     segmentation=[[0.5, 0.5, 18.5, 0.5, 18.5, 10.5, 0.5,
                                    10.5]]),
                dict(id=2, iscrowd=0,
                     segmentation=[[12.5, 12.5, 32.5, 12.5, 32.5, 28.5, 12.5,
                                    28.5]])
            ])

    t = TRANSFORMS.build(
        dict(type='GeneratePersonLabTargets',
             encoder=codec_cfg(type='PosePlusSegCodec', input_size=(33, 33),
                               output_stride=8, radius=8.)))
    plain = t(results())
    flipped = t(RandomFlip(prob=1.0, direction='horizontal')(results()))
    mirror = (lambda a: a[..., ::-1])
    for key in ('body_heatmap', 'body_heatmap_weights',
                'mask_offset_weights'):
        np.testing.assert_allclose(flipped[key], mirror(plain[key]),
                                   atol=1e-6, err_msg=key)
    np.testing.assert_allclose(flipped['mask_offsets'][0],
                               -mirror(plain['mask_offsets'][0]), atol=1e-4)
    np.testing.assert_allclose(flipped['mask_offsets'][1],
                               mirror(plain['mask_offsets'][1]), atol=1e-4)
    assert plain['mask_offset_weights'].sum() > 0
    assert plain['field_mapping_table']['mask_offsets'] == 'mask_offsets'


@pytest.mark.parametrize('impute', [False, True])
def test_a_person_with_a_mask_and_no_keypoints(impute):
    """Mask-only people: with imputation (as PersonLab) they get keypoints,
    disks and a body heat map; without, no body heat map (and no heatmap
    weight) but mask offsets to their own mask mean."""
    t = TRANSFORMS.build(
        dict(type='GeneratePersonLabTargets',
             encoder=codec_cfg(type='PosePlusSegCodec', input_size=(33, 33),
                               output_stride=8, radius=8.),
             impute_keypoints=impute))
    out = t(dict(
        img=np.zeros((33, 33, 3), np.uint8), img_shape=(33, 33),
        ori_shape=(33, 33), input_size=(33, 33),
        warp_mat=np.array([[1., 0., 0.], [0., 1., 0.]], np.float32),
        img_path='unit.jpg', keypoints=np.zeros((1, 17, 2), np.float32),
        keypoints_visible=np.zeros((1, 17), np.float32),
        raw_ann_info=[dict(id=7, iscrowd=0, segmentation=[[
            4.5, 4.5, 28.5, 4.5, 28.5, 28.5, 4.5, 28.5]])]))
    inside = out['mask_offset_weights'][0, 1:4, 1:4]
    assert inside.all()  # trained either way
    np.testing.assert_allclose(out['mask_offsets'][:, 1, 1], [8., 8.],
                               atol=0.5)  # to the mask mean (16, 16)
    assert (out['body_heatmap'][0, 1:4, 1:4].max() > 0) == impute
    assert (out['body_heatmap_weights'][0, 2, 2] == 1) == impute


def test_bad_settings_name_the_choices():
    with pytest.raises(ValueError, match="'mask_mean' or a keypoint name.*"
                       'right_shoulder.*belly'):
        _codec(centroid='belly')
    with pytest.raises(ValueError, match='body_alpha'):
        _codec(body_alpha=0.)
