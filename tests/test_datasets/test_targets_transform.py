"""GeneratePersonLabTargets: rasterisation, flips, crowds, errors."""
import copy

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from mmpose.datasets.transforms import RandomFlip
from mmpose.registry import TRANSFORMS
from personlab_testing import coco_keypoints, codec_cfg

from personlab_mm.datasets.transforms import (SegmentationError,
                                              rasterize_segmentation)

IDENTITY = np.array([[1., 0., 0.], [0., 1., 0.]])
CODEC = codec_cfg(input_size=(33, 33), output_stride=4, radius=6.)
COCO_FLIP_INDICES = coco_keypoints().flip_indices


def _square(x0, y0, x1, y1):
    """COCO polygon of the box [x0, x1] x [y0, y1] in pixel-centre
    coordinates (COCO polygons are half a pixel off: pixel u spans
    [u, u + 1))."""
    x0, y0, x1, y1 = (v + 0.5 for v in (x0, y0, x1, y1))
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def test_polygon_and_rle_rasterise_identically():
    # COCO's own rasterisation of the polygon [2, 6) x [3, 8): 20 pixels
    poly = [[2, 3, 6, 3, 6, 8, 2, 8]]
    m_poly = rasterize_segmentation(poly, (12, 10), IDENTITY, (10, 12))
    expected = np.zeros((12, 10), bool)
    expected[3:8, 2:6] = True
    coco = mask_utils.decode(mask_utils.merge(
        mask_utils.frPyObjects(poly, 12, 10))).astype(bool)
    np.testing.assert_array_equal(coco, expected)
    np.testing.assert_array_equal(m_poly, expected)
    rle = mask_utils.encode(np.asfortranarray(expected.astype(np.uint8)))
    compressed = dict(size=rle['size'], counts=rle['counts'].decode())
    m_rle = rasterize_segmentation(compressed, (12, 10), IDENTITY, (10, 12))
    np.testing.assert_array_equal(m_rle, expected)
    flat = expected.reshape(-1, order='F').astype(int)
    runs = np.diff(np.flatnonzero(np.diff(np.r_[-1, flat, -1]))).tolist()
    uncompressed = dict(size=[12, 10], counts=runs)  # starts with zeros
    m_unc = rasterize_segmentation(uncompressed, (12, 10), IDENTITY, (10, 12))
    np.testing.assert_array_equal(m_unc, expected)


def test_rasterise_through_warp_onto_the_grid():
    # image -> input: scale 0.5; input -> grid: stride 2 => image / 4
    affine = np.array([[0.25, 0, 0], [0, 0.25, 0]])
    m = rasterize_segmentation(_square(5.5, 5.5, 25.5, 17.5), (40, 40),
                               affine, (10, 10))
    expected = np.zeros((10, 10), bool)  # cells in [1.5, 6.5] x [1.5, 4.5]
    expected[2:5, 2:7] = True
    np.testing.assert_array_equal(m, expected)


def test_degenerate_and_empty_segmentations():
    for seg in (None, [], [[1, 2, 3, 4]], [[]]):
        assert not rasterize_segmentation(seg, (8, 8), IDENTITY,
                                          (8, 8)).any()
    with pytest.raises(SegmentationError, match='odd'):
        rasterize_segmentation([[1, 2, 3]], (8, 8), IDENTITY, (8, 8))
    with pytest.raises(SegmentationError, match='size'):
        rasterize_segmentation(dict(size=[4, 4], counts=[16]), (8, 8),
                               IDENTITY, (8, 8))


def _results():
    kpts = np.zeros((4, 17, 2), np.float32)
    vis = np.zeros((4, 17), np.float32)
    # person 0: nose, both eyes, both shoulders; person 1: nose + left elbow
    kpts[0, [0, 1, 2, 5, 6]] = [(8, 8), (12, 4), (4, 4), (16, 12), (0, 12)]
    vis[0, [0, 1, 2, 5, 6]] = 1
    kpts[1, [0, 7]] = [(24, 12), (28, 20)]
    vis[1, [0, 7]] = 1
    # boundaries half-way between cells (stride 4): cells 0-4 / 3-8 / ...
    anns = [
        dict(id=1, iscrowd=0, segmentation=_square(-2, -2, 18, 18)),
        dict(id=2, iscrowd=0, segmentation=_square(10, 6, 34, 26)),
        dict(id=3, iscrowd=0, segmentation=_square(-2, 22, 10, 34)),  # no kpt
        dict(id=4, iscrowd=1, segmentation=_square(22, 26, 34, 34)),
    ]
    return dict(
        img=np.zeros((33, 33, 3), np.uint8),
        img_shape=(33, 33),
        ori_shape=(33, 33),
        input_size=(33, 33),
        warp_mat=IDENTITY.astype(np.float32),
        img_path='unit.jpg',
        keypoints=kpts,
        keypoints_visible=vis,
        flip_indices=list(COCO_FLIP_INDICES),
        raw_ann_info=anns)


def _mirror(a):
    return a[..., ::-1]


def test_transform_crowd_and_keypointless_regions():
    t = TRANSFORMS.build(dict(type='GeneratePersonLabTargets', encoder=CODEC))
    out = t(_results())
    hw = out['heatmap_weights'][0]
    assert hw[6:9, 0:3].sum() == 0  # person 3 (no keypoints), cells 0..2
    assert hw[7:9, 6:9].sum() == 0  # crowd, cells x 6..8, y 7..8
    assert out['segmentation_weights'][0, 7:9, 6:9].sum() == 0
    assert out['segmentation'][0, 6:9, 0:3].all()  # still a person
    assert out['segmentation'][0, 7:9, 7:9].sum() == 0  # crowd is not
    # persons 0 and 1 overlap in cells x 3-4, y 2-4
    assert out['long_weights'][:, 2:5, 3:5].sum() == 0
    assert out['segmentation'][0, 0:6].sum() == 25 + 24 - 6  # rows 0-5
    assert out['long_weights'][0, 1, 1] == 1  # person 0 alone
    assert out['field_mapping_table']['mid_offsets'] == 'mid_offsets'


def test_keypoint_only_annotations_are_encoded_without_masks():
    """A person annotated without a segmentation (CrowdPose-style): its
    long-range offsets are trained around its keypoints, the image's
    segmentation is not trained."""
    results = _results()
    del results['raw_ann_info'][1]['segmentation']  # person 1: keypoints
    t = TRANSFORMS.build(dict(type='GeneratePersonLabTargets', encoder=CODEC))
    out = t(results)
    assert out['segmentation_weights'].sum() == 0
    assert out['segmentation'][0, 6:9, 0:3].all()  # masks still drawn
    assert out['segmentation'][0, 0:2, 7:9].sum() == 0  # not person 1's box
    lw = out['long_weights']
    # person 1's nose at (24, 12): cell (6, 3) at (24, 12) is its own ...
    assert lw[0, 3, 6] == 1 and lw[7, 3, 6] == 1
    # ... and far from its keypoints nothing is
    assert lw[:, 8, 0:5].sum() == 0 and lw[:, 0, 7:9].sum() == 0
    assert lw[0, 1, 1] == 1  # person 0 alone, as with masks


def test_flipped_sample_mirrors_targets_and_swaps_left_right():
    t = TRANSFORMS.build(dict(type='GeneratePersonLabTargets', encoder=CODEC))
    plain = t(_results())
    flipped = RandomFlip(prob=1.0, direction='horizontal')(_results())
    assert flipped['flip'] and flipped['flip_direction'] == 'horizontal'
    flipped = t(flipped)
    codec = t.encoder
    flip = np.array(COCO_FLIP_INDICES)
    # heatmaps: channel k of the flipped sample = mirrored channel flip[k]
    np.testing.assert_array_equal(flipped['heatmaps'],
                                  _mirror(plain['heatmaps'][flip]))
    # left eye (1) of the flipped person is where the right eye (2) was
    assert flipped['heatmaps'][1].sum() == plain['heatmaps'][2].sum() > 0
    for key, perm in (('short', flip), ('long', flip),
                      ('mid', np.array(codec.keypoints.flip_edge_indices))):
        n = len(perm)
        a = plain[f'{key}_offsets'].reshape(n, 2, 9, 9)
        b = flipped[f'{key}_offsets'].reshape(n, 2, 9, 9)
        np.testing.assert_allclose(b[:, 0], -_mirror(a[perm, 0]), atol=1e-5)
        np.testing.assert_allclose(b[:, 1], _mirror(a[perm, 1]), atol=1e-5)
        np.testing.assert_array_equal(flipped[f'{key}_weights'],
                                      _mirror(plain[f'{key}_weights'][perm]))
    for key in ('segmentation', 'segmentation_weights', 'heatmap_weights'):
        np.testing.assert_array_equal(flipped[key], _mirror(plain[key]))


def test_transform_errors_name_the_image_and_annotation():
    t = TRANSFORMS.build(dict(type='GeneratePersonLabTargets', encoder=CODEC))
    res = _results()
    res['raw_ann_info'][1]['segmentation'] = dict(size=[5, 5], counts=[25])
    with pytest.raises(SegmentationError, match=r'unit.jpg.*id 2'):
        t(res)
    res = _results()
    res['raw_ann_info'] = res['raw_ann_info'][:2]
    with pytest.raises(ValueError, match='raw_ann_info'):
        t(res)
    res = _results()
    res['input_size'] = (65, 65)
    with pytest.raises(ValueError, match='input_size'):
        t(res)


def test_real_coco_sample_through_the_training_pipeline(coco_sample_dir):
    from mmpose.registry import DATASETS
    pipeline = [
        dict(type='LoadImage'),
        dict(type='BottomupRandomAffine', input_size=(513, 513),
             shift_factor=0., scale_factor=(1., 1.), scale_type='long',
             rotate_factor=0., distribution='uniform'),
        dict(type='GeneratePersonLabTargets',
             encoder=codec_cfg(input_size=(513, 513), output_stride=8)),
        dict(type='PackPoseInputs'),
    ]
    ds = DATASETS.build(
        dict(type='CocoDataset', data_root=coco_sample_dir,
             data_mode='bottomup', ann_file='person_keypoints.json',
             data_prefix=dict(img='images/'), pipeline=pipeline))
    assert len(ds) == 4
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        fields = sample.gt_fields
        assert fields.heatmaps.shape == (17, 65, 65)
        assert fields.mid_offsets.shape == (64, 65, 65)
        info = ds.get_data_info(i)
        anns = info['raw_ann_info']
        # the segmentation target covers the people: compare with COCO's own
        # rasterisation warped onto the grid
        raw = ds.pipeline.transforms[1](ds.pipeline.transforms[0](
            copy.deepcopy(info)))
        warp = raw['warp_mat']
        seg = fields.segmentation[0].numpy() >= 0.5
        img_h, img_w = raw['ori_shape'][:2]
        want = np.zeros((65, 65), bool)
        ys, xs = np.mgrid[0:65, 0:65] * 8.
        inv = np.linalg.inv(np.vstack([warp, [0, 0, 1]]))
        u = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
        v = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
        inside = (u >= 0) & (u < img_w) & (v >= 0) & (v < img_h)
        for ann in anns:
            if ann['iscrowd']:
                continue
            rles = mask_utils.frPyObjects(ann['segmentation'], img_h, img_w)
            m = mask_utils.decode(mask_utils.merge(rles)).astype(bool)
            want[inside] |= m[v[inside].astype(int), u[inside].astype(int)]
        inter = (seg & want).sum()
        union = (seg | want).sum()
        assert union > 0 and inter / union > 0.9, (i, inter, union)
        # keypoint-less people are excluded from the heatmap loss
        if any(a['num_keypoints'] == 0 and not a['iscrowd'] for a in anns):
            assert fields.heatmap_weights.min() == 0
