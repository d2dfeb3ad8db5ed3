"""personlab_mm.datasets.converters.coco_instances_to_panoptic on
hand-made data: PNGs decoded with ``rgb2id`` and compared pixel by pixel,
segments_info, the JSON summary, error messages, and loading through
``CrowdAwareCocoPanopticDataset``.

Polygons here are rectangles with integer corners: pycocotools fills
columns ``x0 .. x1 - 1`` and rows ``y0 .. y1 - 1``.
"""
import importlib.util
import json

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from personlab_testing import panoptic_sample, read_panoptic_ids


def _tool(name: str):
    """A converter module (``tools/dataset_converters/<name>.py`` is its
    command line)."""
    return importlib.import_module(f'personlab_mm.datasets.converters.{name}')


def _rect(x0, y0, x1, y1):
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def _compressed(height, width, x0, y0, x1, y1):
    mask = np.zeros((height, width), np.uint8)
    mask[y0:y1, x0:x1] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    return dict(size=[height, width], counts=rle['counts'].decode())


def coco_instances() -> dict:
    """Image 1 (6 x 8): person 101 (polygon) and 102 (compressed RLE)
    overlap, 106 repeats 102 (dropped: ties go to the smaller id), 107 has
    only a 2-point polygon (dropped), 103 is a crowd (uncompressed RLE,
    columns 5-7), 104 a car. Image 2 (5 x 6, in a sub-folder): person 201
    (uncompressed RLE) and 202 (two polygons), 203 a bicycle over it all."""
    person, car, bicycle = 1, 3, 2
    anns = [
        (101, 1, person, 0, [_rect(0, 0, 4, 4)]),
        (102, 1, person, 0, _compressed(6, 8, 2, 2, 6, 5)),
        (103, 1, person, 1, dict(size=[6, 8], counts=[30, 18])),
        (104, 1, car, 0, [_rect(0, 4, 2, 6)]),
        (106, 1, person, 0, [_rect(2, 2, 6, 5)]),
        (107, 1, person, 0, [[1, 1, 2, 2]]),
        (201, 2, person, 0, dict(size=[5, 6], counts=[6, 3, 2, 3, 16])),
        (202, 2, person, 0, [_rect(3, 0, 5, 2), _rect(4, 3, 6, 5)]),
        (203, 2, bicycle, 0, [_rect(0, 0, 6, 5)]),
    ]
    return dict(
        info=dict(description='hand-made'),
        images=[dict(id=1, file_name='a.jpg', height=6, width=8),
                dict(id=2, file_name='sub/b.jpg', height=5, width=6)],
        annotations=[
            dict(id=i, image_id=img, category_id=cat, iscrowd=crowd,
                 segmentation=seg, area=1, bbox=[0, 0, 1, 1])
            for i, img, cat, crowd, seg in anns
        ],
        categories=[dict(id=1, name='person', supercategory='person'),
                    dict(id=2, name='bicycle', supercategory='vehicle'),
                    dict(id=3, name='car', supercategory='vehicle')])


#: Segment ids: the kept persons in file order, then background (last).
EXPECTED_IDS = {
    'a.png': np.array([[1, 1, 1, 1, 4, 3, 3, 3],
                       [1, 1, 1, 1, 4, 3, 3, 3],
                       [1, 1, 2, 2, 2, 2, 3, 3],
                       [1, 1, 2, 2, 2, 2, 3, 3],
                       [4, 4, 2, 2, 2, 2, 3, 3],
                       [4, 4, 4, 4, 4, 3, 3, 3]]),
    'b.png': np.array([[3, 3, 3, 2, 2, 3],
                       [3, 1, 1, 2, 2, 3],
                       [3, 1, 1, 3, 3, 3],
                       [3, 1, 1, 3, 2, 2],
                       [3, 3, 3, 3, 2, 2]]),
}
EXPECTED_SEGMENTS = {
    1: [dict(id=1, category_id=1, iscrowd=0, area=12, bbox=[0, 0, 4, 4]),
        dict(id=2, category_id=1, iscrowd=0, area=12, bbox=[2, 2, 4, 3]),
        dict(id=3, category_id=1, iscrowd=1, area=15, bbox=[5, 0, 3, 6]),
        dict(id=4, category_id=4, iscrowd=0, area=9, bbox=[0, 0, 5, 6])],
    2: [dict(id=1, category_id=1, iscrowd=0, area=6, bbox=[1, 1, 2, 3]),
        dict(id=2, category_id=1, iscrowd=0, area=8, bbox=[3, 0, 3, 5]),
        dict(id=3, category_id=4, iscrowd=0, area=16, bbox=[0, 0, 6, 5])],
}


def _write_json(data: dict, path) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def _run_coco(tmp_path, capsys, data, *extra):
    ann = _write_json(data, tmp_path / 'instances.json')
    out_json, out_dir = tmp_path / 'panoptic.json', tmp_path / 'panoptic'
    _tool('coco_instances_to_panoptic').main([
        '--ann-file', ann, '--out-json', str(out_json), '--out-dir',
        str(out_dir), *extra
    ])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return json.loads(out_json.read_text()), out_dir, summary


def test_coco_instances_to_panoptic_pixels_and_segments(tmp_path, capsys):
    out, out_dir, summary = _run_coco(tmp_path, capsys, coco_instances())
    for png, expected in EXPECTED_IDS.items():
        np.testing.assert_array_equal(read_panoptic_ids(out_dir / png),
                                      expected, err_msg=png)
    assert sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob('*')
                  if p.is_file()) == sorted(EXPECTED_IDS)
    assert [(a['image_id'], a['file_name']) for a in out['annotations']] \
        == [(1, 'a.png'), (2, 'b.png')]
    for entry in out['annotations']:
        assert entry['segments_info'] == EXPECTED_SEGMENTS[entry['image_id']]
    assert out['images'] == coco_instances()['images']
    assert out['info'] == dict(description='hand-made')
    assert [(c['id'], c['name'], c['isthing']) for c in out['categories']] \
        == [(1, 'person', 1), (4, 'background', 0)]
    assert all(len(c['color']) == 3 for c in out['categories'])
    assert summary == dict(
        images=2, images_without_things=0,
        segments=dict(person=5, background=2), crowd_segments=1,
        dropped_segments=2, dropped_per_category=dict(person=2),
        degenerate_polygons=1, overlap_pixels=12)


def test_coco_converter_other_categories_and_workers(tmp_path, capsys):
    """Choosing the car too: it is a thing of its own; two workers give the
    same files as one."""
    out, out_dir, summary = _run_coco(tmp_path, capsys, coco_instances(),
                                      '--categories', 'car', 'person',
                                      '--nproc', '2')
    assert [c['name'] for c in out['categories']] == [
        'person', 'car', 'background']
    ids = read_panoptic_ids(out_dir / 'a.png')
    car = out['annotations'][0]['segments_info'][3]
    assert (car['category_id'], car['area'], car['bbox']) == (3, 4,
                                                              [0, 4, 2, 2])
    np.testing.assert_array_equal(ids[4:, :2], car['id'])
    assert summary['segments'] == dict(person=5, car=1, background=2)
    np.testing.assert_array_equal(read_panoptic_ids(out_dir / 'b.png'),
                                  EXPECTED_IDS['b.png'])


def _break(field: str):
    """A mutation of the hand-made json, and what the error names."""
    def set_seg(ann_id, seg):
        def mutate(data):
            ann = next(a for a in data['annotations'] if a['id'] == ann_id)
            ann['segmentation'] = seg
        return mutate

    def drop_field(ann_id, key):
        def mutate(data):
            del next(a for a in data['annotations']
                     if a['id'] == ann_id)[key]
        return mutate

    cases = {
        'odd polygon': (set_seg(101, [[0, 0, 4, 0, 4]]),
                        'annotation 101', 'segmentation[0]'),
        'polygon of strings': (set_seg(202, [['a', 1, 2, 3, 4, 5]]),
                               'annotation 202', 'segmentation[0]'),
        'counts sum': (set_seg(103, dict(size=[6, 8], counts=[30, 17])),
                       'annotation 103', 'segmentation.counts'),
        'negative run': (set_seg(201, dict(size=[5, 6], counts=[36, -6])),
                         'annotation 201', 'segmentation.counts'),
        'rle size': (set_seg(102, _compressed(6, 7, 2, 2, 6, 5)),
                     'annotation 102', 'segmentation.size'),
        'compressed string': (set_seg(102, dict(size=[6, 8], counts='0~~')),
                              'annotation 102', 'segmentation.counts'),
        'compressed sum': (set_seg(102, dict(
            size=[6, 8], counts=_compressed(3, 8, 0, 0, 1, 1)['counts'])),
            'annotation 102', 'segmentation.counts'),
        'not a segmentation': (set_seg(106, 'rectangle'), 'annotation 106',
                               'segmentation is neither'),
        'no segmentation': (drop_field(107, 'segmentation'),
                            'annotation 107', 'no segmentation'),
        'image_id': (lambda d: d['annotations'][0].update(image_id=9),
                     'annotation 101', 'image_id'),
        'image size': (lambda d: d['images'][1].update(height=0),
                       'image 2', 'height'),
        'duplicate image': (lambda d: d['images'].append(d['images'][0]),
                            'image 1', 'twice'),
        'category': (lambda d: d['categories'].pop(0), 'person', 'categories'),
    }
    return cases[field]


@pytest.mark.parametrize('case', [
    'odd polygon', 'polygon of strings', 'counts sum', 'negative run',
    'rle size', 'compressed string', 'compressed sum', 'not a segmentation',
    'no segmentation', 'image_id', 'image size', 'duplicate image',
    'category'
])
def test_coco_converter_errors_name_file_id_and_field(tmp_path, case):
    tool = _tool('coco_instances_to_panoptic')
    data = coco_instances()
    mutate, what, field = _break(case)
    mutate(data)
    ann = _write_json(data, tmp_path / 'instances.json')
    with pytest.raises(tool.ConversionError) as error:
        tool.convert(ann, str(tmp_path / 'out.json'), str(tmp_path / 'png'))
    message = str(error.value)
    assert ann in message and what in message and field in message, message
    # nothing is written before the whole input is checked
    assert not (tmp_path / 'out.json').exists()
    assert not (tmp_path / 'png').exists()


def test_coco_converter_cli_exits_with_the_message(tmp_path, capsys):
    data = coco_instances()
    data['annotations'][1]['segmentation']['counts'] = '0~~'
    ann = _write_json(data, tmp_path / 'instances.json')
    with pytest.raises(SystemExit) as error:
        _tool('coco_instances_to_panoptic').main([
            '--ann-file', ann, '--out-json', str(tmp_path / 'o.json'),
            '--out-dir', str(tmp_path / 'png')
        ])
    assert f'{ann}: annotation 102 (image 1): segmentation.counts' in str(
        error.value.code)


def test_coco_converter_malformed_other_category_is_not_read(tmp_path,
                                                             capsys):
    data = coco_instances()
    data['annotations'][3]['segmentation'] = [[0, 0, 1]]  # the car
    _, out_dir, summary = _run_coco(tmp_path, capsys, data)
    np.testing.assert_array_equal(read_panoptic_ids(out_dir / 'a.png'),
                                  EXPECTED_IDS['a.png'])
    assert summary['segments'] == dict(person=5, background=2)


def test_coco_converter_output_loads_in_mmdet(tmp_path, capsys):
    _, out_dir, _ = _run_coco(tmp_path, capsys, coco_instances())
    for name, (h, w) in (('a.jpg', (6, 8)), ('sub/b.jpg', (5, 6))):
        (tmp_path / 'images' / name).parent.mkdir(parents=True,
                                                  exist_ok=True)
        cv2.imwrite(str(tmp_path / 'images' / name),
                    np.full((h, w, 3), 127, np.uint8))
    dataset, sample = panoptic_sample(
        tmp_path / 'panoptic.json', tmp_path / 'images', out_dir,
        dict(classes=('person', 'background'), thing_classes=('person', ),
             stuff_classes=('background', )))
    assert len(dataset) == 2
    # things are label 0 (the crowd too), background 1; no void pixel
    np.testing.assert_array_equal(sample['gt_seg_map'],
                                  (EXPECTED_IDS['a.png'] == 4).astype(int))
    masks = sample['gt_masks'].masks
    # the two people and the crowd (an ignored instance)
    assert masks.shape == (3, 6, 8)
    assert sample['gt_ignore_flags'].tolist() == [False, False, True]
    for mask, segment_id in zip(masks, (1, 2)):
        np.testing.assert_array_equal(mask,
                                      EXPECTED_IDS['a.png'] == segment_id)
    np.testing.assert_array_equal(sample['gt_bboxes'].numpy(),
                                  [[0, 0, 4, 4], [2, 2, 6, 5], [5, 0, 8, 6]])
    np.testing.assert_array_equal(sample['gt_bboxes_labels'], [0, 0, 0])
    assert dataset[1]['gt_seg_map'].shape == (5, 6)
