"""Degenerate and bad input data: handled correctly, or a clear early error
naming the file, the annotation id and the field (issue 6, item 1)."""
import copy
import json
import os.path as osp
import re
import tracemalloc

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from degenerate_coco import K, coco_dict, degenerate_images, write_coco
from mmpose.registry import DATASETS, TRANSFORMS
from personlab_testing import codec_cfg

from personlab_mm.datasets import AnnotationError

CODEC = codec_cfg(input_size=(257, 257), output_stride=16, radius=32.)
FIXED_WARP = dict(type='BottomupRandomAffine', input_size=(257, 257),
                  shift_factor=0., scale_factor=(1., 1.), scale_type='long',
                  rotate_factor=0., distribution='uniform')
RANDOM_WARP = dict(FIXED_WARP, shift_factor=0.2, scale_factor=(0.5, 1.5))


@pytest.fixture(scope='module')
def cases():
    return degenerate_images()


@pytest.fixture(scope='module')
def degenerate_root(tmp_path_factory, cases):
    root = str(tmp_path_factory.mktemp('degenerate'))
    return root, write_coco(root, cases)


def _dataset(root, ann_file, pipeline=(), **kw):
    cfg = dict(type='PersonLabCocoDataset', data_root=root,
               ann_file=ann_file, data_prefix=dict(img='images/'),
               data_mode='bottomup', pipeline=list(pipeline))
    cfg.update(kw)
    return DATASETS.build(cfg)


def _train_pipeline(warp=FIXED_WARP, impute=False, flip=False):
    steps = [dict(type='LoadImage'), warp]
    if flip:
        steps.append(dict(type='RandomFlip', direction='horizontal'))
    steps += [
        dict(type='GeneratePersonLabTargets', encoder=CODEC,
             impute_keypoints=impute),
        dict(type='PackPoseInputs')
    ]
    return steps


def _targets(sample):
    return {k: v.numpy() for k, v in sample['data_samples'].gt_fields.items()}


def _index(ds, img_id):
    ids = [ds.get_data_info(i)['img_id'] for i in range(len(ds))]
    return ids.index(img_id)


# ------------------------------------------------------------ loading
def test_loads_like_mmpose_coco_dataset(degenerate_root):
    root, paths = degenerate_root
    ours = _dataset(root, paths['ann_file'])
    theirs = DATASETS.build(
        dict(type='CocoDataset', data_root=root, ann_file=paths['ann_file'],
             data_prefix=dict(img='images/'), data_mode='bottomup'))
    # training keeps images with annotations (crowd-only included), not
    # the image without people
    ids = [ours.get_data_info(i)['img_id'] for i in range(len(ours))]
    assert ids == [1, 3, 4, 5, 6, 7, 8]
    assert len(theirs) == len(ours)
    for i in range(len(ours)):
        a, b = ours.get_data_info(i), theirs.get_data_info(i)
        np.testing.assert_array_equal(a['keypoints'], b['keypoints'])
        np.testing.assert_array_equal(a['keypoints_visible'],
                                      b['keypoints_visible'])
        assert a['raw_ann_info'] == b['raw_ann_info']
    # evaluation keeps every image, the one without people too
    test = _dataset(root, paths['ann_file'], test_mode=True)
    assert sorted(test.get_data_info(i)['img_id']
                  for i in range(len(test))) == list(range(1, 9))


def test_every_case_through_the_random_training_pipeline(degenerate_root):
    root, paths = degenerate_root
    ds = _dataset(root, paths['ann_file'],
                  _train_pipeline(RANDOM_WARP, impute=True, flip=True))
    np.random.seed(0)
    for _ in range(2):
        for i in range(len(ds)):
            t = _targets(ds[i])
            assert t['heatmaps'].shape == (17, 17, 17)
            for key, value in t.items():
                assert np.isfinite(value).all(), (i, key)
                if key.endswith('weights') or key in ('heatmaps',
                                                      'segmentation'):
                    assert value.min() >= 0 and value.max() <= 1, (i, key)


def test_image_without_people_in_the_test_pipeline(degenerate_root):
    root, paths = degenerate_root
    ds = _dataset(root, paths['ann_file'], [
        dict(type='LoadImage'),
        dict(type='PersonLabResize', longest_side=257, size_divisor=8),
        dict(type='PackPoseInputs', meta_keys=('id', 'img_id', 'img_path',
                                               'ori_shape', 'raw_ann_info'))
    ], test_mode=True)
    sample = ds[_index(ds, 2)]['data_samples']
    assert sample.metainfo['raw_ann_info'] is None
    assert sample.metainfo['ori_shape'] == (200, 240)


def test_image_with_people_but_no_annotations_gives_empty_targets():
    t = TRANSFORMS.build(dict(type='GeneratePersonLabTargets',
                              encoder=CODEC))
    for anns in (None, []):
        out = t(dict(img_shape=(257, 257), ori_shape=(200, 240),
                     input_size=(257, 257), raw_ann_info=anns))
        for key in ('heatmaps', 'short_offsets', 'mid_offsets',
                    'long_offsets', 'segmentation', 'long_weights'):
            assert not out[key].any(), key
        assert out['heatmap_weights'].all()
        assert out['segmentation_weights'].all()


def test_crowd_only_image_is_ignored_not_learned(degenerate_root):
    root, paths = degenerate_root
    ds = _dataset(root, paths['ann_file'], _train_pipeline())
    t = _targets(ds[_index(ds, 3)])
    info = ds.get_data_info(_index(ds, 3))
    assert info['raw_ann_info'][0]['iscrowd'] == 1
    assert not t['heatmaps'].any() and not t['segmentation'].any()
    assert not t['long_weights'].any() and not t['mid_weights'].any()
    # the crowd box [40, 200) x [60, 140) (image = input here) is ignored
    # by the heatmap and segmentation losses, the rest is not
    crowd = np.zeros((17, 17), bool)
    crowd[4:9, 3:13] = True  # cells 16 px apart inside the box
    for key in ('heatmap_weights', 'segmentation_weights'):
        assert not t[key][0][crowd].any(), key
        assert t[key][0][0].all() and t[key][0][-1].all(), key


def test_zero_keypoints_and_degenerate_polygons(degenerate_root):
    root, paths = degenerate_root
    idx = None
    for impute in (False, True):
        ds = _dataset(root, paths['ann_file'],
                      _train_pipeline(impute=impute))
        idx = _index(ds, 4)
        anns = {a['id']: a for a in ds.get_data_info(idx)['raw_ann_info']}
        t = _targets(ds[idx])
        raw = ds.pipeline.transforms[1](ds.pipeline.transforms[0](
            ds.get_data_info(idx)))
        # person 400: a mask, no keypoints
        maskless = _grid_mask(anns[400]['segmentation'], raw)
        assert maskless.sum() > 10
        assert (t['segmentation'][0][maskless] > 0).all()
        if impute:  # template keypoints: trained on, heatmaps inside it
            assert t['heatmaps'][:, maskless].any()
        else:  # excluded from the heatmap loss
            assert not t['heatmap_weights'][0][maskless].any()
        # person 401: only degenerate polygons (2 points, collinear), so
        # no mask, but its keypoints are still trained
        assert not _grid_mask(anns[401]['segmentation'], raw).any()
        kp = raw['keypoints'][1]
        vis = raw['keypoints_visible'][1] > 0
        cells = np.clip(np.round(kp[vis] / 16).astype(int), 0, 16)
        k = np.nonzero(vis)[0]
        assert t['heatmaps'][k, cells[:, 1], cells[:, 0]].all()
    # 402: empty segmentation, zero-size box: nothing, no crash
    assert anns[402]['segmentation'] == [] and anns[402]['bbox'][2] == 0


def _grid_mask(segmentation, raw):
    """Reference: COCO's own rasterisation warped onto the 17x17 grid."""
    h, w = raw['ori_shape'][:2]
    if isinstance(segmentation, list):
        polys = [p for p in segmentation if len(p) >= 6]
        if not polys:
            return np.zeros((17, 17), bool)
        rle = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
    elif isinstance(segmentation['counts'], list):
        rle = mask_utils.frPyObjects(segmentation, h, w)
    else:
        rle = dict(segmentation, counts=segmentation['counts'].encode())
    m = mask_utils.decode(rle).astype(bool)
    inv = np.linalg.inv(np.vstack([raw['warp_mat'], [0, 0, 1]]))
    ys, xs = np.mgrid[0:17, 0:17] * 16.
    u = np.round(inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]).astype(int)
    v = np.round(inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]).astype(int)
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    out = np.zeros((17, 17), bool)
    out[inside] = m[v[inside], u[inside]]
    return out


def _encodings(segmentation, h, w):
    """The same mask as polygon-decoded RLE, compressed and uncompressed
    RLE."""
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, h, w))
    elif isinstance(segmentation['counts'], list):
        rle = mask_utils.frPyObjects(segmentation, h, w)
    else:
        rle = dict(segmentation, counts=segmentation['counts'].encode())
    mask = mask_utils.decode(rle)
    flat = mask.reshape(-1, order='F').astype(np.int64)
    runs = np.diff(np.flatnonzero(np.diff(np.r_[-1, flat, -1]))).tolist()
    if flat[0] == 1:
        runs = [0] + runs
    return (dict(size=[h, w], counts=rle['counts'].decode()),
            dict(size=[h, w], counts=runs))


def test_polygon_compressed_and_uncompressed_rle_give_the_same_targets(
        degenerate_root):
    root, paths = degenerate_root
    ds = _dataset(root, paths['ann_file'], _train_pipeline(flip=True))
    idx = _index(ds, 5)
    info = ds.get_data_info(idx)
    kinds = [type(a['segmentation']).__name__ for a in info['raw_ann_info']]
    assert 'dict' in kinds and 'list' in kinds
    h, w = 288, 320
    results = []
    for which in (0, 1):
        info = copy.deepcopy(ds.get_data_info(idx))
        for ann in info['raw_ann_info']:
            ann['segmentation'] = _encodings(ann['segmentation'], h, w)[which]
        np.random.seed(3)
        results.append(ds.pipeline(info))
    a, b = _targets(results[0]), _targets(results[1])
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # and the polygons of the file rasterise to the decoded mask's cells
    np.random.seed(3)
    c = _targets(ds[idx])
    assert np.abs(c['segmentation'] - a['segmentation']).max() <= 0.25


def test_keypoints_outside_the_image_and_the_crop(degenerate_root):
    root, paths = degenerate_root
    ds = _dataset(root, paths['ann_file'], _train_pipeline())
    idx = _index(ds, 6)
    t = _targets(ds[idx])
    raw = ds.pipeline.transforms[1](ds.pipeline.transforms[0](
        ds.get_data_info(idx)))
    kp = raw['keypoints'][0]  # warped into input pixels
    assert kp[15, 0] < -32 and kp[16, 1] > 256 + 32 and kp[0, 1] < 0
    for key, value in t.items():
        assert np.isfinite(value).all(), key
    # ankles: more than R outside the grid, no disk
    assert not t['heatmaps'][15:17].any()
    # nose above the crop: disks on the top rows, offsets point to it
    rows = np.nonzero(t['heatmaps'][0].any(axis=1))[0]
    assert rows.size and rows.max() <= 1
    iy, ix = np.nonzero(t['heatmaps'][0])
    short = t['short_offsets'].reshape(17, 2, 17, 17)
    np.testing.assert_allclose(short[0, 0, iy, ix], kp[0, 0] - ix * 16.,
                               atol=1e-3)
    np.testing.assert_allclose(short[0, 1, iy, ix], kp[0, 1] - iy * 16.,
                               atol=1e-3)
    # long-range offsets inside the person point at the outside ankles
    long = t['long_offsets'].reshape(17, 2, 17, 17)
    iy, ix = np.nonzero(t['long_weights'][15])
    assert iy.size > 5
    np.testing.assert_allclose(long[15, 0, iy, ix], kp[15, 0] - ix * 16.,
                               atol=1e-3)
    np.testing.assert_allclose(long[15, 1, iy, ix], kp[15, 1] - iy * 16.,
                               atol=1e-3)


def _one_person(vis):
    """A person on an identity warp, keypoints on a line, flags ``vis``."""
    kp = np.stack([np.linspace(40, 200, K), np.linspace(60, 180, K)],
                  axis=1).astype(np.float32)
    seg = [[30., 50., 220., 50., 220., 200., 30., 200.]]
    return dict(img_shape=(257, 257), ori_shape=(257, 257),
                input_size=(257, 257),
                warp_mat=np.array([[1., 0, 0], [0, 1., 0]], np.float32),
                keypoints=kp[None], keypoints_visible=np.asarray(
                    vis, np.float32)[None],
                raw_ann_info=[dict(id=1, iscrowd=0, segmentation=seg)])


def test_visibility_flags_0_1_2(degenerate_root):
    root, paths = degenerate_root
    ds = _dataset(root, paths['ann_file'])
    info = ds.get_data_info(_index(ds, 7))
    flags = np.array(info['raw_ann_info'][0]['keypoints'][2::3])
    assert set(flags) == {0, 1, 2}
    # mmpose reads min(1, v): 1 and 2 are both labelled, 0 is not
    np.testing.assert_array_equal(info['keypoints_visible'][0],
                                  np.minimum(flags, 1))
    t = TRANSFORMS.build(dict(type='GeneratePersonLabTargets',
                              encoder=CODEC))
    vis = np.arange(K) % 3
    out = t(_one_person(vis))
    has_disk = out['heatmaps'].reshape(K, -1).any(axis=1)
    np.testing.assert_array_equal(has_disk, vis > 0)
    assert not out['long_weights'][vis == 0].any()
    assert out['long_weights'][vis > 0].any(axis=(1, 2)).all()
    # flags 1 (occluded) and 2 (visible) give the same targets
    ones = t(_one_person(np.minimum(vis, 1)))
    for key in out['field_mapping_table']:
        np.testing.assert_array_equal(out[key], ones[key], err_msg=key)


def test_very_large_image_with_bounded_memory(degenerate_root):
    root, paths = degenerate_root
    ds = _dataset(root, paths['ann_file'],
                  _train_pipeline(RANDOM_WARP, impute=True, flip=True))
    idx = _index(ds, 8)
    info = ds.get_data_info(idx)
    assert info['raw_ann_info'][0]['segmentation']['size'] == [3000, 4000]
    image_bytes = 3000 * 4000 * 3
    tracemalloc.start()
    try:
        t = _targets(ds[idx])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the decoded image plus at most one full-size mask at a time
    assert peak < image_bytes + 3000 * 4000 * 2, peak / 2**20
    assert t['heatmaps'].shape == (17, 17, 17)
    assert np.isfinite(t['long_offsets']).all()


# -------------------------------------------------------------- errors
def _write(tmp_path, data, name='ann.json'):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def _small_set(tmp_path):
    """One normal image written to tmp_path; its info and annotations."""
    info, img, anns = degenerate_images(large=None)[0]
    write_coco(str(tmp_path), [(info, img, anns)], name='ok')
    return info, anns


def _build(tmp_path, ann_file, **kw):
    return _dataset(str(tmp_path), ann_file, **kw)


def test_malformed_json_names_the_file(tmp_path):
    _small_set(tmp_path)
    path = _write(tmp_path, '{"images": [1, 2,', 'broken.json')
    with pytest.raises(AnnotationError, match=r'broken\.json.*malformed'):
        _build(tmp_path, path)
    path = _write(tmp_path, [1, 2], 'list.json')
    with pytest.raises(AnnotationError, match=r'list\.json'):
        _build(tmp_path, path)
    path = _write(tmp_path, dict(images=[], annotations={}), 'fields.json')
    with pytest.raises(AnnotationError, match=r"fields\.json.*'annotations'"):
        _build(tmp_path, path)
    with pytest.raises(AnnotationError, match=r'missing\.json.*not exist'):
        _build(tmp_path, str(tmp_path / 'missing.json'))


BAD_ANNOTATIONS = [
    # (change to annotation 100, field, message)
    (dict(keypoints=[0] * 48), 'keypoints', 'has 48 values, expected 3 x 17'),
    (dict(keypoints='x'), 'keypoints', 'has str values'),
    (dict(keypoints=[0] * 50 + [3]), 'keypoints', r'flags must be 0, 1 or 2'),
    (dict(keypoints=[float('nan')] + [0] * 50), 'keypoints', 'finite'),
    (dict(keypoints=[10, 20, 0] * 17), 'keypoints',
     'every visibility flag is 0'),
    (dict(bbox=[0, 0, 10]), 'bbox', r'\[x, y, w, h\]'),
    (dict(bbox=[0, 0, -1, 5]), 'bbox', 'negative'),
    (dict(iscrowd=2), 'iscrowd', '0 or 1'),
    (dict(area=-3), 'area', 'non-negative'),
    (dict(image_id=99), 'image_id', 'no image with id 99'),
    (dict(category_id=2), 'category_id', 'has no keypoints'),
    (dict(segmentation=[[1, 2, 3]]), 'segmentation', 'odd number'),
    (dict(segmentation=[['a', 1, 2, 3, 4, 5]]), 'segmentation', 'finite'),
    (dict(segmentation=dict(size=[5, 5], counts='abc')), 'segmentation',
     'not the image size'),
    (dict(segmentation=dict(size=[256, 320], counts=[5, 5])), 'segmentation',
     'sum to 10'),
    (dict(segmentation=dict(size=[256, 320], counts=7)), 'segmentation',
     'counts must be'),
    (dict(segmentation='polygon'), 'segmentation', 'list of polygons'),
]


@pytest.mark.parametrize('change,field,message', BAD_ANNOTATIONS,
                         ids=[f'{f}-{i}' for i, (_, f, _) in enumerate(
                             BAD_ANNOTATIONS)])
def test_bad_annotation_names_file_id_and_field(tmp_path, change, field,
                                                message):
    info, anns = _small_set(tmp_path)
    anns[0].update(change)
    path = _write(tmp_path, coco_dict([info], anns))
    with pytest.raises(AnnotationError) as e:
        _build(tmp_path, path)
    text = str(e.value)
    assert path in text and 'annotation id 100' in text, text
    assert f"field '{field}'" in text, text
    assert re.search(message, text), text


def test_duplicate_ids_and_missing_keypoints_field(tmp_path):
    info, anns = _small_set(tmp_path)
    dup = anns + [dict(anns[0])]
    with pytest.raises(AnnotationError, match='annotation id 100.*duplicate'):
        _build(tmp_path, _write(tmp_path, coco_dict([info], dup)))
    with pytest.raises(AnnotationError, match='image id 1.*duplicate'):
        _build(tmp_path, _write(tmp_path, coco_dict([info, info], anns)))
    # a crowd region without a keypoints field is kept (mmpose would drop
    # it, and with it the crowd's ignore region)
    crowd = dict(anns[0], id=7, iscrowd=1)
    del crowd['keypoints']
    ds = _build(tmp_path, _write(tmp_path, coco_dict([info], anns + [crowd])))
    ids = [a['id'] for a in ds.get_data_info(0)['raw_ann_info']]
    assert ids == [100, 101, 7]
    assert ds.get_data_info(0)['keypoints'].shape == (3, 17, 2)


def test_categories_without_keypoints(tmp_path):
    info, anns = _small_set(tmp_path)
    car = dict(id=3, name='car', supercategory='vehicle')
    no_kpts = coco_dict([info], anns, categories=[
        dict(id=1, name='person'), car])
    with pytest.raises(AnnotationError,
                       match=r"ann\.json: categories: field 'keypoints'.*"
                       'no category defines keypoints'):
        _build(tmp_path, _write(tmp_path, no_kpts))
    wrong_k = coco_dict([info], anns, categories=[
        dict(id=1, name='person', keypoints=['nose'] * 5)])
    with pytest.raises(AnnotationError, match=r"category id 1 \('person'\).*"
                       'has 5 keypoint names'):
        _build(tmp_path, _write(tmp_path, wrong_k))
    full = coco_dict([info], anns)
    full['categories'].append(car)
    anns = anns + [dict(anns[0], id=5, category_id=3)]
    full['annotations'] = anns
    path = _write(tmp_path, full)
    with pytest.raises(AnnotationError,
                       match=r"annotation id 5: field 'category_id'"):
        _build(tmp_path, path)
    ds = _build(tmp_path, path, skip_other_categories=True)
    assert [a['id'] for a in ds.get_data_info(0)['raw_ann_info']] == \
        [100, 101]


def test_missing_image_fails_at_load_time_naming_the_file(tmp_path):
    info, anns = _small_set(tmp_path)
    other = dict(info, id=2, file_name='gone.jpg')
    more = anns + [dict(anns[0], id=9, image_id=2)]
    path = _write(tmp_path, coco_dict([info, other], more))
    with pytest.raises(FileNotFoundError, match=r'images/gone\.jpg'):
        _build(tmp_path, path)
    # without the load-time check, the loading step names it
    ds = _build(tmp_path, path, check_images=None,
                pipeline=[dict(type='LoadImage')])
    with pytest.raises(Exception, match=r'images/gone\.jpg'):
        ds[1]


def test_corrupt_image_names_the_file(tmp_path):
    info, anns = _small_set(tmp_path)
    bad = dict(info, id=2, file_name='corrupt.jpg')
    (tmp_path / 'images' / 'corrupt.jpg').write_bytes(b'\xff\xd8 not a jpeg')
    more = anns + [dict(anns[0], id=9, image_id=2)]
    path = _write(tmp_path, coco_dict([info, bad], more))
    with pytest.raises(AnnotationError, match=r'images/corrupt\.jpg.*decoded'):
        _build(tmp_path, path, check_images='decode')
    ds = _build(tmp_path, path, pipeline=[dict(type='LoadImage')])
    ds[0]
    with pytest.raises(Exception, match=r'images/corrupt\.jpg'):
        ds[1]
    wrong_size = dict(info, width=100)
    path = _write(tmp_path, coco_dict([wrong_size], []), 'size.json')
    with pytest.raises(AnnotationError, match=r'000001\.jpg is 320x256.*'
                       r'says 100x256'):
        _build(tmp_path, path, check_images='decode', test_mode=True)


def test_check_images_option_is_validated(tmp_path):
    with pytest.raises(ValueError, match='check_images'):
        _build(tmp_path, 'x.json', check_images='yes')
    assert osp.isdir(str(tmp_path))
