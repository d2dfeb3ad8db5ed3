"""The embedded synthetic panoptic set: files, determinism, the dataset
class through MMDetection's pipeline, and the metrics' files."""
import copy
import filecmp
import json
import os
import os.path as osp
import runpy
import sys
import threading
from typing import List, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets.transforms import PackDetInputs, RandomFlip
from mmdet.evaluation import CocoMetric, CocoPanopticMetric
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.registry import DATASETS
from panopticapi.evaluation import pq_compute_single_core
from panopticapi.utils import rgb2id

from personlab_mm.datasets import (LoadCheckedPanopticAnnotations,
                                   SyntheticPanopticDataset)
from personlab_mm.datasets.synthetic import (PANOPTIC_CATEGORIES,
                                             ensure_panoptic_split,
                                             generate_panoptic_split,
                                             panoptic_split_files)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_VAL = 4


@pytest.fixture(scope='module')
def root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthetic_panoptic'))
    ensure_panoptic_split(root, 'val', num_images=NUM_VAL)
    return root


def _load(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def _ids(path: str) -> np.ndarray:
    return rgb2id(cv2.imread(path)[:, :, ::-1])


def _pipeline():
    return [
        LoadImageFromFile(),
        LoadCheckedPanopticAnnotations(with_bbox=True, with_label=True,
                                       with_mask=True, with_seg=True),
        RandomFlip(prob=1.0),
        PackDetInputs(),
    ]


def _all_files(root: str) -> list:
    return sorted(
        osp.relpath(osp.join(d, f), root) for d, _, fs in os.walk(root)
        for f in fs)


def test_generation_is_deterministic(tmp_path):
    generate_panoptic_split(str(tmp_path / 'a'), 'val', 3)
    generate_panoptic_split(str(tmp_path / 'b'), 'val', 3)
    generate_panoptic_split(str(tmp_path / 'c'), 'val', 3, seed=1)
    names = _all_files(str(tmp_path / 'a'))
    assert len(names) == 3 * 2 + 2
    assert names == _all_files(str(tmp_path / 'b'))
    match, mismatch, errors = filecmp.cmpfiles(
        tmp_path / 'a', tmp_path / 'b', names, shallow=False)
    assert not mismatch and not errors
    _, mismatch, _ = filecmp.cmpfiles(
        tmp_path / 'a', tmp_path / 'c', names, shallow=False)
    assert mismatch


def test_png_ids_match_segments_info(root):
    files = panoptic_split_files(root, 'val')
    coco = _load(files.panoptic_json)
    cats = {c['id']: c for c in coco['categories']}
    assert [(c['id'], c['name'], c['isthing']) for c in cats.values()] == [
        (1, 'person', 1), (2, 'ball', 1), (3, 'box', 1), (4, 'sky', 0),
        (5, 'grass', 0), (6, 'wall', 0)]
    assert len(coco['images']) == len(coco['annotations']) == NUM_VAL
    seen = set()
    for image, ann in zip(coco['images'], coco['annotations']):
        ids = _ids(osp.join(files.panoptic_dir, ann['file_name']))
        assert ids.shape == (image['height'], image['width'])
        assert set(ids.shape) <= {192, 224, 256}
        img = cv2.imread(osp.join(files.image_dir, image['file_name']))
        assert img.shape[:2] == ids.shape
        segments = {s['id']: s for s in ann['segments_info']}
        assert len(segments) == len(ann['segments_info'])
        assert set(np.unique(ids).tolist()) - {0} == set(segments)
        assert 0 < (ids == 0).mean() < 0.1  # a few void pixels
        for seg_id, seg in segments.items():
            mask = ids == seg_id
            ys, xs = np.nonzero(mask)
            assert seg['area'] == mask.sum() >= 4
            assert seg['bbox'] == [xs.min(), ys.min(), np.ptp(xs) + 1,
                                   np.ptp(ys) + 1]
            assert seg['category_id'] in cats
            assert seg_id // 1000 == seg['category_id']
            assert seg['iscrowd'] in (0, 1)
            assert not seg['iscrowd'] or seg['category_id'] == 1
            seen.add(seg['category_id'])
        things = [s for s in segments.values()
                  if cats[s['category_id']]['isthing'] and not s['iscrowd']]
        assert 1 <= len(things) <= 6
    assert seen == set(cats)


def test_instances_json_matches_the_png(root):
    files = panoptic_split_files(root, 'val')
    panoptic = _load(files.panoptic_json)
    instances = _load(files.instances_json)
    assert [c['name'] for c in instances['categories']] == \
        ['person', 'ball', 'box']
    assert instances['images'] == panoptic['images']
    assert len({a['id'] for a in instances['annotations']}) == \
        len(instances['annotations'])
    by_segment = {(a['image_id'], a['segment_id']): a
                  for a in instances['annotations']}
    count = 0
    for ann in panoptic['annotations']:
        ids = _ids(osp.join(files.panoptic_dir, ann['file_name']))
        for seg in ann['segments_info']:
            if seg['category_id'] > 3:
                continue
            inst = by_segment[(ann['image_id'], seg['id'])]
            count += 1
            np.testing.assert_array_equal(
                mask_utils.decode(inst['segmentation']), ids == seg['id'])
            assert inst['iscrowd'] == seg['iscrowd']
            assert inst['category_id'] == seg['category_id']
            assert inst['bbox'] == seg['bbox']
    assert count == len(instances['annotations'])


def test_dataset_loads_and_pipeline_runs(root):
    dataset = DATASETS.build(
        dict(type='mmdet.SyntheticPanopticDataset', split='val',
             num_images=NUM_VAL, data_root=root, pipeline=_pipeline()))
    assert isinstance(dataset, SyntheticPanopticDataset)
    assert dataset.metainfo['classes'] == ('person', 'ball', 'box', 'sky',
                                           'grass', 'wall')
    assert dataset.metainfo['thing_classes'] == ('person', 'ball', 'box')
    assert len(dataset.metainfo['palette']) == 6
    assert len(dataset) == NUM_VAL
    coco = _load(dataset.files.panoptic_json)
    for idx, ann in enumerate(coco['annotations']):
        sample = dataset[idx]['data_samples']
        things = [s for s in ann['segments_info'] if s['category_id'] <= 3]
        crowd = sum(s['iscrowd'] for s in things)
        assert len(sample.gt_instances) == len(things) - crowd
        assert len(sample.ignored_instances) == crowd
        h, w = sample.ori_shape
        assert sample.gt_instances.masks.masks.shape[1:] == (h, w)
        ids = _ids(osp.join(dataset.files.panoptic_dir, ann['file_name']))
        sem = sample.gt_sem_seg.sem_seg[0].numpy()
        np.testing.assert_array_equal(sem == 255, (ids == 0)[:, ::-1])


def test_dataset_sets_its_files(root):
    with pytest.raises(ValueError, match='do not pass ann_file'):
        SyntheticPanopticDataset(split='val', data_root=root, ann_file='x')
    files = SyntheticPanopticDataset(split='val', num_images=NUM_VAL,
                                     data_root=root).files
    for path in files:
        assert osp.exists(path), path
    assert files.panoptic_json == osp.join(root, 'annotations',
                                           'panoptic_val.json')


def test_pq_of_ground_truth_is_one(root, capsys):
    """panopticapi's PQ of the ground truth against itself (its
    ``pq_compute`` on one core: the multi-core one leaves its pool open)."""
    files = panoptic_split_files(root, 'val')
    coco = _load(files.panoptic_json)
    categories = {c['id']: c for c in coco['categories']}
    pairs = [(ann, copy.deepcopy(ann)) for ann in coco['annotations']]
    stat = pq_compute_single_core(0, pairs, files.panoptic_dir,
                                  files.panoptic_dir, categories)
    results, _ = stat.pq_average(categories, isthing=None)
    assert results['pq'] == pytest.approx(1.0)
    assert results['n'] == 6


def _ground_truth_samples(root: str) -> Tuple[dict, List[dict]]:
    """Data samples whose predictions are the ground truth."""
    dataset = SyntheticPanopticDataset(split='val', num_images=NUM_VAL,
                                       data_root=root)
    files = dataset.files
    coco = _load(files.panoptic_json)
    label = {c['id']: i for i, c in enumerate(PANOPTIC_CATEGORIES)}
    samples = []
    for image, ann in zip(coco['images'], coco['annotations']):
        ids = _ids(osp.join(files.panoptic_dir, ann['file_name']))
        pan = np.full(ids.shape, len(label), dtype=np.int64)
        masks, labels, boxes = [], [], []
        for k, seg in enumerate(ann['segments_info'], 1):
            pan[ids == seg['id']] = label[seg['category_id']] + \
                k * INSTANCE_OFFSET
            if seg['category_id'] <= 3 and not seg['iscrowd']:
                x, y, w, h = seg['bbox']
                masks.append(ids == seg['id'])
                labels.append(label[seg['category_id']])
                boxes.append([x, y, x + w, y + h])
        samples.append(dict(
            img_id=image['id'],
            img_path=osp.join(files.image_dir, image['file_name']),
            ori_shape=ids.shape,
            pred_panoptic_seg=dict(sem_seg=torch.from_numpy(pan[None])),
            pred_instances=dict(
                bboxes=torch.tensor(boxes, dtype=torch.float32),
                scores=torch.ones(len(boxes)),
                labels=torch.tensor(labels),
                masks=torch.from_numpy(np.stack(masks)))))
    return dataset.metainfo, samples


def test_mmdet_metrics_on_the_synthetic_files(root):
    meta, samples = _ground_truth_samples(root)
    files = panoptic_split_files(root, 'val')
    panoptic = CocoPanopticMetric(ann_file=files.panoptic_json,
                                  seg_prefix=files.panoptic_dir)
    segm = CocoMetric(ann_file=files.instances_json, metric='segm')
    for metric in (panoptic, segm):
        metric.dataset_meta = meta
        metric.process({}, samples)
    assert panoptic.compute_metrics(panoptic.results)['PQ'] == \
        pytest.approx(100.)
    assert segm.compute_metrics(segm.results)['segm_mAP'] == \
        pytest.approx(1.)


def test_concurrent_first_use(tmp_path):
    root = str(tmp_path)
    out = []
    threads = [threading.Thread(
        target=lambda: out.append(ensure_panoptic_split(root, 'val', 2)))
        for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 2 and out[0] == out[1]
    assert len(os.listdir(out[0].panoptic_dir)) == 2
    assert [n for n in os.listdir(root) if n.startswith('.panoptic_val.')
            and not n.endswith('stamp.json')] == []


def test_tool_writes_the_panoptic_set(tmp_path, monkeypatch, capsys):
    tool = osp.join(ROOT, 'tools', 'dataset_converters',
                    'generate_synthetic.py')
    monkeypatch.setattr(sys, 'argv', [
        tool, '--panoptic', '--root', str(tmp_path), '--splits', 'val',
        '--num-images', '2'
    ])
    runpy.run_path(tool, run_name='__main__')
    files = panoptic_split_files(str(tmp_path), 'val')
    assert capsys.readouterr().out.strip() == files.panoptic_json
    assert len(os.listdir(files.image_dir)) == 2
    assert osp.exists(files.instances_json)
