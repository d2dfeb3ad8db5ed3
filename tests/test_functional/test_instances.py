"""Boxes of masks and the host transfer of masks."""
import numpy as np
import torch

from personlab_mm.functional import mask_boxes, masks_to_numpy


def test_boxes_and_cropped_mask_transfer():
    masks = torch.zeros(3, 20, 30, dtype=torch.bool)
    masks[0, 2:5, 3:9] = True
    masks[0, 10, 20] = True
    masks[2, 19, 29] = True
    boxes, has = mask_boxes(masks)
    assert boxes.tolist() == [[3, 2, 21, 11], [0, 0, 0, 0], [29, 19, 30, 20]]
    assert has.tolist() == [True, False, True]
    out = masks_to_numpy(masks, boxes.numpy(), has.numpy(), crop=True)
    np.testing.assert_array_equal(out, masks.numpy())
    empty = masks_to_numpy(masks[:0], np.zeros((0, 4)), np.zeros(0, bool),
                           crop=True)
    assert empty.shape == (0, 20, 30)
