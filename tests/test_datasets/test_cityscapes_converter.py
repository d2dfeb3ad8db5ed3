"""personlab_mm.datasets.converters.cityscapes_panoptic on a hand-made
gtFine tree: PNGs decoded and compared pixel by pixel, segments_info, the
instances json, the JSON summary, error messages, and loading through
``CrowdAwareCocoPanopticDataset``."""
import importlib
import json
import os
import os.path as osp

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from personlab_testing import panoptic_sample, read_panoptic_ids
from PIL import Image


def _tool(name: str):
    """A converter module (``tools/dataset_converters/<name>.py`` is its
    command line)."""
    return importlib.import_module(f'personlab_mm.datasets.converters.{name}')


#: instanceIds of train/aachen (4 x 6): sky, a car instance, a car group
#: (crowd), a person instance, road; void: unlabeled (0), ego vehicle (1),
#: static (4), a caravan instance (29000, a thing not evaluated).
AACHEN = np.array([[23, 23, 23, 23, 23, 23],
                   [26001, 26001, 26, 26, 24000, 0],
                   [7, 7, 26, 26, 24000, 1],
                   [7, 7, 7, 29000, 29000, 4]])
#: instanceIds of val/frankfurt (3 x 4): building, vegetation, two riders,
#: a bicycle group (crowd), sidewalk, a bicycle instance, unlabeled.
FRANKFURT = np.array([[11, 11, 21, 21],
                      [25000, 25001, 33, 0],
                      [8, 8, 33000, 33000]])
AACHEN_SEGMENTS = [
    dict(id=7, category_id=7, iscrowd=0, area=5, bbox=[0, 2, 3, 2]),
    dict(id=23, category_id=23, iscrowd=0, area=6, bbox=[0, 0, 6, 1]),
    dict(id=26, category_id=26, iscrowd=1, area=4, bbox=[2, 1, 2, 2]),
    dict(id=24000, category_id=24, iscrowd=0, area=2, bbox=[4, 1, 1, 2]),
    dict(id=26001, category_id=26, iscrowd=0, area=2, bbox=[0, 1, 2, 1]),
]


def _write_pair(root, split, city, instance_ids, labels=None):
    """Writes the ``instanceIds`` (16 bit) and ``labelIds`` PNGs; returns
    the instanceIds path."""
    folder = root / 'gtFine' / split / city
    folder.mkdir(parents=True, exist_ok=True)
    stem = str(folder / f'{city}_000000_000019_gtFine_')
    Image.fromarray(instance_ids.astype(np.uint16)).save(
        stem + 'instanceIds.png')
    if labels is None:
        labels = np.where(instance_ids >= 1000, instance_ids // 1000,
                          instance_ids)
    Image.fromarray(labels.astype(np.uint8)).save(stem + 'labelIds.png')
    return stem + 'instanceIds.png'


def _cityscapes(tmp_path):
    _write_pair(tmp_path, 'train', 'aachen', AACHEN)
    _write_pair(tmp_path, 'val', 'frankfurt', FRANKFURT)
    return tmp_path / 'gtFine'


def test_cityscapes_panoptic(tmp_path, capsys):
    gtfine = _cityscapes(tmp_path)
    _tool('cityscapes_panoptic').main(['--gtfine-dir', str(gtfine)])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    train = json.loads((gtfine / 'cityscapes_panoptic_train.json')
                       .read_text())
    name = 'aachen_000000_000019_leftImg8bit.png'  # the PNG: flat
    assert train['images'] == [dict(id=1, file_name='aachen/' + name,
                                    height=4, width=6)]
    assert train['annotations'] == [
        dict(image_id=1, file_name=name, segments_info=AACHEN_SEGMENTS)]
    evaluated = np.isin(AACHEN, [0, 1, 4, 29000], invert=True)
    np.testing.assert_array_equal(
        read_panoptic_ids(gtfine / 'cityscapes_panoptic_train' / name),
        np.where(evaluated, AACHEN, 0))
    cats = train['categories']
    assert [c['id'] for c in cats] == [24, 25, 26, 27, 28, 31, 32, 33, 7, 8,
                                       11, 12, 13, 17, 19, 20, 21, 22, 23]
    assert [c['isthing'] for c in cats] == [1] * 8 + [0] * 11
    assert cats[0] == dict(id=24, name='person', supercategory='human',
                           isthing=1, color=[220, 20, 60])
    tool = _tool('cityscapes_panoptic')
    assert [c['name'] for c in cats] == list(tool.THING_CLASSES +
                                             tool.STUFF_CLASSES)
    val = json.loads((gtfine / 'cityscapes_panoptic_val.json').read_text())
    segments = val['annotations'][0]['segments_info']
    assert [(s['id'], s['category_id'], s['iscrowd'], s['area'])
            for s in segments] == [(8, 8, 0, 2), (11, 11, 0, 2),
                                   (21, 21, 0, 2), (33, 33, 1, 1),
                                   (25000, 25, 0, 1), (25001, 25, 0, 1),
                                   (33000, 33, 0, 2)]
    np.testing.assert_array_equal(
        read_panoptic_ids(gtfine / 'cityscapes_panoptic_val' /
                          'frankfurt_000000_000019_leftImg8bit.png'),
        np.where(FRANKFURT == 0, 0, FRANKFURT))
    # the things again as COCO instances (RLE), for CocoMetric(segm)
    instances = json.loads((gtfine / 'cityscapes_instances_train.json')
                           .read_text())
    assert instances['images'] == train['images']
    assert [c['name'] for c in instances['categories']] == list(
        tool.THING_CLASSES)
    got = [(a['id'], a['category_id'], a['iscrowd'], a['area'])
           for a in instances['annotations']]
    assert got == [(1001, 26, 1, 4), (1002, 24, 0, 2), (1003, 26, 0, 2)]
    for ann in instances['annotations']:
        segment = next(s for s in AACHEN_SEGMENTS
                       if s['category_id'] == ann['category_id']
                       and s['area'] == ann['area'])
        value = segment['id']
        np.testing.assert_array_equal(
            mask_utils.decode(ann['segmentation']), AACHEN == value)
    assert summary['splits']['train']['crowd_segments'] == 1
    assert summary['splits']['train']['void_pixels'] == 5
    assert summary['splits']['train']['segments']['car'] == 2
    assert summary['splits']['val']['segments']['rider'] == 2
    assert summary['splits']['val']['images'] == 1


def test_cityscapes_output_loads_in_mmdet(tmp_path, capsys):
    gtfine = _cityscapes(tmp_path)
    out = tmp_path / 'out'
    _tool('cityscapes_panoptic').main(
        ['--gtfine-dir', str(gtfine), '--out-dir', str(out), '--splits',
         'train'])
    image_dir = tmp_path / 'leftImg8bit' / 'train'
    (image_dir / 'aachen').mkdir(parents=True)
    cv2.imwrite(str(image_dir / 'aachen' /
                    'aachen_000000_000019_leftImg8bit.png'),
                np.zeros((4, 6, 3), np.uint8))
    tool = _tool('cityscapes_panoptic')
    classes = tool.THING_CLASSES + tool.STUFF_CLASSES
    _, sample = panoptic_sample(
        out / 'cityscapes_panoptic_train.json', image_dir,
        out / 'cityscapes_panoptic_train',
        dict(classes=classes, thing_classes=tool.THING_CLASSES,
             stuff_classes=tool.STUFF_CLASSES))
    label = {i: classes.index(n) for i, n in
             ((7, 'road'), (23, 'sky'), (24, 'person'), (26, 'car'))}
    expected = np.full(AACHEN.shape, 255)
    for value in (7, 23, 26, 24000, 26001):
        expected[AACHEN == value] = label[value if value < 1000 else
                                          value // 1000]
    np.testing.assert_array_equal(sample['gt_seg_map'], expected)
    # segments in id order: the car group (26, an ignored instance), the
    # person (24000) and the car (26001)
    assert sample['gt_masks'].masks.shape == (3, 4, 6)
    assert sample['gt_ignore_flags'].tolist() == [True, False, False]
    np.testing.assert_array_equal(sample['gt_bboxes_labels'],
                                  [label[26], label[24], label[26]])


@pytest.mark.parametrize('case', ['label mismatch', 'unknown id',
                                  'stuff instance', 'no labelIds', 'rgb'])
def test_cityscapes_errors_name_file_and_id(tmp_path, case):
    tool = _tool('cityscapes_panoptic')
    ids = AACHEN.copy()
    labels = None
    if case == 'label mismatch':
        labels = np.where(ids >= 1000, ids // 1000, ids)
        labels[2, 1] = 8
    elif case == 'unknown id':
        ids[0, 0] = 40
    elif case == 'stuff instance':
        ids[0, 0] = 7001
    inst = _write_pair(tmp_path, 'train', 'aachen', ids, labels)
    label_file = inst.replace('instanceIds', 'labelIds')
    if case == 'no labelIds':
        os.unlink(label_file)
    elif case == 'rgb':
        Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(inst)
    with pytest.raises(tool.ConversionError) as error:
        tool.convert(str(tmp_path / 'gtFine'), str(tmp_path / 'out'),
                     ['train'])
    message = str(error.value)
    named = {
        'label mismatch': (label_file, inst, '(x, y) = (1, 2)'),
        'unknown id': (inst, 'id 40 '),
        'stuff instance': (inst, 'id 7001 ', 'road'),
        'no labelIds': (label_file, ),
        'rgb': (inst, 'single-channel'),
    }[case]
    assert all(part in message for part in named), message
    assert not (tmp_path / 'out' / 'cityscapes_panoptic_train.json').exists()


def test_cityscapes_missing_split_names_the_pattern(tmp_path):
    tool = _tool('cityscapes_panoptic')
    gtfine = _cityscapes(tmp_path)
    with pytest.raises(tool.ConversionError, match='test') as error:
        tool.convert(str(gtfine), str(tmp_path / 'out'), ['train', 'test'])
    assert osp.join(str(gtfine), 'test', '*') in str(error.value)
    assert not (tmp_path / 'out').exists()  # checked before writing
