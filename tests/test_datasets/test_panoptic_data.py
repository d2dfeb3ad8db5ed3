"""CrowdAwareCocoPanopticDataset and LoadCheckedPanopticAnnotations on
hand-made tiny panoptic sets, through MMDetection's real pipeline."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets import CocoPanopticDataset
from mmdet.datasets.transforms import (LoadPanopticAnnotations, PackDetInputs,
                                       RandomFlip)
from mmdet.registry import DATASETS, TRANSFORMS
from panopticapi.utils import id2rgb

from personlab_mm.datasets import (CrowdAwareCocoPanopticDataset,
                                   LoadCheckedPanopticAnnotations,
                                   PanopticAnnotationError)

H, W = 6, 8
ROAD, PERSON, CAR = 7, 1, 3
CATEGORIES = [
    dict(id=PERSON, name='person', supercategory='person', isthing=1,
         color=[220, 20, 60]),
    dict(id=CAR, name='car', supercategory='vehicle', isthing=1,
         color=[0, 0, 142]),
    dict(id=ROAD, name='road', supercategory='ground', isthing=0,
         color=[128, 64, 128]),
]
METAINFO = dict(classes=('person', 'car', 'road'),
                thing_classes=('person', 'car'), stuff_classes=('road', ),
                palette=[(220, 20, 60), (0, 0, 142), (128, 64, 128)])
LABEL = {PERSON: 0, CAR: 1, ROAD: 2}


def _scene() -> np.ndarray:
    """Road with person 1001 (top left), crowd 1002 (top right), car 3001
    (bottom left), person 1003 (bottom right) and one void pixel."""
    ids = np.full((H, W), 7001, dtype=np.int64)
    ids[0:3, 0:2] = 1001
    ids[0:2, 5:8] = 1002
    ids[3:6, 0:3] = 3001
    ids[3:6, 5:7] = 1003
    ids[5, 7] = 0
    return ids


def _segment(ids: np.ndarray, seg_id: int, iscrowd: int = 0) -> dict:
    ys, xs = np.nonzero(ids == seg_id)
    bbox = [int(xs.min()), int(ys.min()), int(np.ptp(xs) + 1),
            int(np.ptp(ys) + 1)] if xs.size else [0, 0, 2, 2]
    return dict(id=seg_id, category_id=seg_id // 1000, iscrowd=iscrowd,
                area=int(xs.size) or 4, bbox=bbox)


def _write_set(root, images) -> str:
    """Write ``images``: (id map of the PNG, segments_info, image (h, w))
    per image; returns the annotation file."""
    (root / 'images').mkdir()
    (root / 'panoptic').mkdir()
    coco = dict(images=[], annotations=[], categories=CATEGORIES)
    for image_id, (ids, segments, (h, w)) in enumerate(images, 1):
        name = f'{image_id:04d}'
        cv2.imwrite(str(root / 'images' / f'{name}.jpg'),
                    np.full((h, w, 3), 128, np.uint8))
        cv2.imwrite(str(root / 'panoptic' / f'{name}.png'),
                    id2rgb(ids)[:, :, ::-1])
        coco['images'].append(
            dict(id=image_id, file_name=f'{name}.jpg', height=h, width=w))
        coco['annotations'].append(
            dict(image_id=image_id, file_name=f'{name}.png',
                 segments_info=segments))
    ann_file = root / 'panoptic.json'
    ann_file.write_text(json.dumps(coco))
    return str(ann_file)


def _pipeline(loader=LoadCheckedPanopticAnnotations):
    return [
        LoadImageFromFile(),
        loader(with_bbox=True, with_label=True, with_mask=True,
               with_seg=True),
        RandomFlip(prob=1.0),
        PackDetInputs(),
    ]


def _dataset(root, images, dataset=CrowdAwareCocoPanopticDataset,
             pipeline=None, **kwargs):
    ann_file = _write_set(root, images)
    return dataset(
        ann_file=ann_file, data_root=str(root), metainfo=METAINFO,
        data_prefix=dict(img='images/', seg='panoptic/'),
        pipeline=_pipeline() if pipeline is None else pipeline, **kwargs)


def _masks(ids: np.ndarray, seg_ids) -> np.ndarray:
    """Masks of ``seg_ids``, flipped left-right as RandomFlip does."""
    return np.stack([ids[:, ::-1] == i for i in seg_ids]).reshape(
        -1, H, W).astype(np.uint8)


def _semantic(ids: np.ndarray, void=()) -> np.ndarray:
    sem = np.full((H, W), 255)
    for seg_id in np.unique(ids):
        if seg_id and seg_id not in void:
            sem[ids == seg_id] = LABEL[seg_id // 1000]
    return sem[:, ::-1]


def _flipped_box(seg: dict) -> list:
    x, y, w, h = seg['bbox']
    return [W - x - w, y, W - x, y + h]


def test_registered_in_mmdet():
    assert DATASETS.get('CrowdAwareCocoPanopticDataset') is \
        CrowdAwareCocoPanopticDataset
    assert TRANSFORMS.get('LoadCheckedPanopticAnnotations') is \
        LoadCheckedPanopticAnnotations


def test_crowd_masks_go_to_ignored_instances_after_flip(tmp_path):
    ids = _scene()
    segments = [_segment(ids, 1001), _segment(ids, 1002, iscrowd=1),
                _segment(ids, 3001), _segment(ids, 1003),
                _segment(ids, 7001)]
    dataset = _dataset(tmp_path, [(ids, segments, (H, W))])
    info = dataset.get_data_info(0)
    assert [s['is_thing'] for s in info['segments_info']] == \
        [True, True, True, True, False]
    assert [s['iscrowd'] for s in info['segments_info']] == \
        [False, True, False, False, False]
    assert [i['ignore_flag'] for i in info['instances']] == [0, 1, 0, 0]

    sample = dataset[0]['data_samples']
    gt, ignored = sample.gt_instances, sample.ignored_instances
    np.testing.assert_array_equal(gt.masks.masks,
                                  _masks(ids, [1001, 3001, 1003]))
    assert gt.labels.tolist() == [0, 1, 0]
    np.testing.assert_allclose(
        gt.bboxes.numpy(),
        [_flipped_box(segments[i]) for i in (0, 2, 3)])
    np.testing.assert_array_equal(ignored.masks.masks, _masks(ids, [1002]))
    assert ignored.labels.tolist() == [0]
    np.testing.assert_allclose(ignored.bboxes.numpy(),
                               [_flipped_box(segments[1])])
    np.testing.assert_array_equal(sample.gt_sem_seg.sem_seg[0].numpy(),
                                  _semantic(ids))
    assert sample.flip and sample.flip_direction == 'horizontal'


def test_mmdet_parent_drops_crowd_instances(tmp_path):
    """What the crowd-aware subclass fixes (MMDetection 3.3.0): the parent
    gives the crowd neither an instance nor a mask, only its class."""
    ids = _scene()
    segments = [_segment(ids, 1001), _segment(ids, 1002, iscrowd=1),
                _segment(ids, 3001), _segment(ids, 1003),
                _segment(ids, 7001)]
    dataset = _dataset(tmp_path, [(ids, segments, (H, W))],
                       dataset=CocoPanopticDataset,
                       pipeline=_pipeline(LoadPanopticAnnotations))
    sample = dataset[0]['data_samples']
    assert len(sample.gt_instances) == 3
    assert len(sample.ignored_instances) == 0
    np.testing.assert_array_equal(sample.gt_sem_seg.sem_seg[0].numpy(),
                                  _semantic(ids))


def test_png_of_wrong_size(tmp_path):
    ids = _scene()
    segments = [_segment(ids, 1001), _segment(ids, 7001)]
    dataset = _dataset(tmp_path, [(ids[:5], segments, (H, W))])
    with pytest.raises(PanopticAnnotationError) as err:
        dataset[0]
    message = str(err.value)
    assert osp.join('panoptic', '0001.png') in message
    assert '8x5' in message and '8x6' in message


def test_png_id_missing_from_segments_info(tmp_path):
    ids = _scene()
    segments = [_segment(ids, i) for i in (1001, 1003, 3001, 7001)]
    dataset = _dataset(tmp_path, [(ids, segments, (H, W))])
    with pytest.raises(PanopticAnnotationError) as err:
        dataset[0]
    message = str(err.value)
    assert osp.join('panoptic', '0001.png') in message
    assert 'segment id 1002 covers 6 pixels' in message


def test_segment_without_pixels_keeps_alignment(tmp_path):
    ids = _scene()
    ids[ids == 1002] = 7001
    segments = [_segment(ids, 1001), _segment(ids, 3002),
                _segment(ids, 3001), _segment(ids, 1003),
                _segment(ids, 7001)]
    sample = _dataset(tmp_path, [(ids, segments, (H, W))])[0]['data_samples']
    masks = sample.gt_instances.masks.masks
    np.testing.assert_array_equal(masks, _masks(ids, [1001, 3002, 3001,
                                                      1003]))
    assert masks[1].sum() == 0
    assert sample.gt_instances.labels.tolist() == [0, 1, 1, 0]


def test_unknown_category_names_file_image_and_segment(tmp_path):
    ids = _scene()
    segments = [_segment(ids, 1001), dict(_segment(ids, 3001),
                                          category_id=9)]
    with pytest.raises(PanopticAnnotationError) as err:
        _dataset(tmp_path, [(ids, segments, (H, W))])
    message = str(err.value)
    assert 'panoptic.json' in message and "'0001.jpg'" in message
    assert 'segment id 3001 has category_id 9' in message
    assert '[1, 3, 7]' in message


def test_duplicate_segment_id(tmp_path):
    ids = _scene()
    segments = [_segment(ids, 1001), _segment(ids, 1001)]
    with pytest.raises(PanopticAnnotationError, match='1001 is used twice'):
        _dataset(tmp_path, [(ids, segments, (H, W))])


def test_image_without_segments(tmp_path):
    ids = np.zeros((H, W), dtype=np.int64)
    dataset = _dataset(tmp_path, [(ids, [], (H, W))])
    results = dataset.pipeline.transforms[1](
        dataset.pipeline.transforms[0](dataset.get_data_info(0)))
    assert results['gt_masks'].masks.shape == (0, H, W)
    assert (results['gt_seg_map'] == 255).all()
    sample = dataset[0]['data_samples']
    assert sample.gt_instances.masks.masks.shape == (0, H, W)
    assert len(sample.ignored_instances) == 0


def test_crowd_only_image(tmp_path):
    ids = _scene()
    ids[(ids != 1002) & (ids != 0)] = 7001
    segments = [_segment(ids, 1002, iscrowd=1), _segment(ids, 7001)]
    dataset = _dataset(tmp_path, [(ids, segments, (H, W))],
                       filter_cfg=dict(filter_empty_gt=True))
    assert len(dataset) == 1  # a crowd counts as ground truth
    sample = dataset[0]['data_samples']
    assert sample.gt_instances.masks.masks.shape == (0, H, W)
    np.testing.assert_array_equal(sample.ignored_instances.masks.masks,
                                  _masks(ids, [1002]))


def test_zero_area_segment_is_void(tmp_path):
    """Segments MMDetection skips (area 0 or a box side < 1) are void even
    where the PNG has pixels of them, and no instance."""
    ids = _scene()
    segments = [_segment(ids, 1001), dict(_segment(ids, 1002), area=0),
                dict(_segment(ids, 3001), bbox=[0, 3, 0.5, 3]),
                _segment(ids, 1003), _segment(ids, 7001)]
    dataset = _dataset(tmp_path, [(ids, segments, (H, W))])
    assert dataset.get_data_info(0)['skipped_segment_ids'] == [1002, 3001]
    sample = dataset[0]['data_samples']
    np.testing.assert_array_equal(sample.gt_instances.masks.masks,
                                  _masks(ids, [1001, 1003]))
    np.testing.assert_array_equal(sample.gt_sem_seg.sem_seg[0].numpy(),
                                  _semantic(ids, void=(1002, 3001)))
