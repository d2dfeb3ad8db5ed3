"""Panoptic-DeepLab targets on a hand-made 3-instance image with a crowd
region and void, after MMDetection's horizontal flip and packing."""
import math

import numpy as np
import pytest
import torch
from mmdet.datasets.transforms import PackDetInputs, RandomFlip
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks

from personlab_mm.models.utils.panoptic_targets import (batch_targets,
                                                        centres_of_mass,
                                                        gaussian_heatmap)

H, W = 12, 16
PERSON, BALL, SKY = 0, 1, 2


def _box(rows, cols):
    m = np.zeros((H, W), dtype=np.uint8)
    m[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = 1
    return m


def _sample(flip=True):
    """Person A rows 1-3 x cols 1-4 (12 px), ball B rows 5-8 x cols 2-3
    (8 px), person C rows 8-10 x cols 10-14 (15 px), a person crowd rows
    1-2 x cols 9-13, void row 11 x cols 0-3, sky elsewhere."""
    masks = [_box((1, 3), (1, 4)), _box((5, 8), (2, 3)),
             _box((8, 10), (10, 14)), _box((1, 2), (9, 13))]
    seg = np.full((H, W), SKY, dtype=np.uint8)
    for m, label in zip(masks, (PERSON, BALL, PERSON, PERSON)):
        seg[m > 0] = label
    seg[11, 0:4] = 255
    boxes = []
    for m in masks:
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    results = dict(
        img=np.zeros((H, W, 3), dtype=np.uint8), img_shape=(H, W),
        ori_shape=(H, W), img_id=7, img_path='hand_made.jpg',
        scale_factor=(1., 1.),
        gt_bboxes=HorizontalBoxes(np.array(boxes, dtype=np.float32)),
        gt_bboxes_labels=np.array([PERSON, BALL, PERSON, PERSON]),
        gt_ignore_flags=np.array([False, False, False, True]),
        gt_masks=BitmapMasks(np.stack(masks), H, W), gt_seg_map=seg)
    if flip:
        results = RandomFlip(prob=1.0, direction='horizontal')(results)
    return PackDetInputs()(results)['data_samples']


def test_centres_of_mass_by_hand():
    masks = torch.from_numpy(np.stack([_box((1, 3), (1, 4)),
                                       np.zeros((H, W), np.uint8)])).bool()
    centres, area = centres_of_mass(masks)
    assert centres[0].tolist() == [2.5, 2.0] and area.tolist() == [12, 0]
    assert torch.isnan(centres[1]).all()


def test_gaussian_is_cut_at_three_sigma_plus_one():
    heat = gaussian_heatmap(torch.tensor([[10., 10.]]), (21, 30), sigma=2.)
    assert heat[10, 10] == 1.
    assert heat[10, 17] == pytest.approx(math.exp(-49 / 8))
    assert heat[10, 18] == 0. and heat[10, 3] == pytest.approx(
        math.exp(-49 / 8))


def test_targets_of_the_flipped_hand_made_image():
    sample = _sample(flip=True)
    assert len(sample.gt_instances) == 3
    assert len(sample.ignored_instances) == 1
    t = batch_targets([sample], (16, 20), 'cpu', sigma=1.,
                      small_instance_area=10, small_instance_weight=3.)
    assert t.semantic.shape == (1, 16, 20)
    # flipped: A cols 11-14, B cols 12-13, C cols 1-5, crowd cols 2-6,
    # void row 11 cols 12-15; x' = 15 - x
    semantic = t.semantic[0]
    assert (semantic[1:4, 11:15] == PERSON).all()
    assert (semantic[5:9, 12:14] == BALL).all()
    assert (semantic[1:3, 2:7] == PERSON).all()  # crowd keeps its class
    assert (semantic[11, 12:16] == 255).all()
    assert (semantic[12:] == 255).all() and (semantic[:, 16:] == 255).all()
    assert semantic[0, 0] == SKY
    # small instances (< 10 px): only the ball gets weight 3
    weights = t.semantic_weights[0]
    assert (weights[5:9, 12:14] == 3.).all()
    assert weights.sum() == 16 * 20 + 2 * 8
    # centres at the rounded centres of mass: A (12.5, 2) -> (12, 2),
    # B (12.5, 6.5) -> (12, 6), C (3, 9)
    centre = t.centre[0, 0]
    for x, y in ((12, 2), (12, 6), (3, 9)):
        assert centre[y, x] == 1.
    assert centre[2, 13] == pytest.approx(math.exp(-0.5))
    assert centre[4, 12] == pytest.approx(math.exp(-2.))  # A and B tie
    # 5 rows (columns) from every centre: beyond 3 sigma + 1 = 4
    assert centre[14, 3] == 0. and centre[3, 7] == 0.
    # centre loss: everywhere labelled except the crowd and void
    cw = t.centre_weights[0, 0]
    assert cw[1:3, 2:7].sum() == 0 and cw[11, 12:16].sum() == 0
    assert cw[12:].sum() == 0 and cw[:, 16:].sum() == 0
    assert cw.sum() == 12 * 16 - 10 - 4
    # offsets: thing pixels to their centre of mass, (dx, dy)
    ow = t.offset_weights[0, 0]
    assert ow.sum() == 12 + 8 + 15
    assert t.offsets[0, :, 3, 14].tolist() == [-1.5, -1.0]  # A
    assert t.offsets[0, :, 8, 12].tolist() == [0.5, -1.5]  # B
    assert t.offsets[0, :, 10, 1].tolist() == [2.0, -1.0]  # C
    assert (t.offsets[0][:, ow == 0] == 0).all()


def test_targets_without_flip_mirror_the_flipped_ones():
    a = batch_targets([_sample(flip=False)], (H, W), 'cpu', sigma=1.)
    b = batch_targets([_sample(flip=True)], (H, W), 'cpu', sigma=1.)
    assert torch.equal(a.semantic, b.semantic.flip(-1))
    assert torch.equal(a.offset_weights, b.offset_weights.flip(-1))
    assert torch.allclose(a.offsets[:, 0], -b.offsets[:, 0].flip(-1))
    # rounding 2.5 / 12.5 goes to the even integer on both sides, so the
    # heatmaps mirror except where a rounded centre moved
    assert torch.equal(a.centre_weights, b.centre_weights.flip(-1))


def test_image_without_instances_has_zero_centre_and_offsets():
    seg = torch.full((1, 6, 7), SKY, dtype=torch.uint8)
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData, PixelData
    sample = DetDataSample(metainfo=dict(img_path='empty.jpg'))
    sample.gt_sem_seg = PixelData(sem_seg=seg)
    sample.gt_instances = InstanceData(
        masks=BitmapMasks(np.zeros((0, 6, 7), np.uint8), 6, 7))
    t = batch_targets([sample], (6, 7), 'cpu')
    assert not t.centre.any() and not t.offsets.any()
    assert t.offset_weights.sum() == 0 and t.centre_weights.sum() == 42


def test_missing_semantic_ground_truth_names_the_image():
    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=dict(img_path='no_seg.jpg'))
    with pytest.raises(KeyError, match='no_seg.jpg'):
        batch_targets([sample], (4, 4), 'cpu')
