"""From decoded people to MMPose's ``pred_instances``: per-image decoding
of batched maps with the image geometry of each sample, boxes, and one
transfer to the host."""
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.structures import InstanceData
from torch import Tensor

from ...functional import (input_affine_from_meta, input_size_of_grid,
                           mask_boxes, masks_to_numpy)
from ...structures import DenseMaps
from ...utils.timing import Stopwatch


def decode_instances(decoder,
                     maps: DenseMaps,
                     batch_data_samples: list,
                     decode_masks: bool = True,
                     timings: Optional[Dict[str, float]] = None
                     ) -> List[InstanceData]:
    """Decode each image of batched maps with ``decoder``.

    Args:
        decoder: A decoder with ``decode(maps, input_size, image_to_input,
            image_hw, timings)`` (e.g.
            :class:`~personlab_mm.decoders.PersonLabDecoder`).
        maps (DenseMaps): Batched maps on the input grid.
        batch_data_samples (list): With ``input_size``, ``input_center``,
            ``input_scale`` and ``ori_shape`` metainfo, and the padded
            input's ``batch_input_shape`` (else the corner-aligned input of
            the grid is assumed).
        decode_masks (bool): Decode masks (else they are empty).
        timings (dict, optional): Per-stage milliseconds; adds
            ``results`` (boxes, the transfer to the host).

    Returns:
        List[InstanceData]: see :meth:`PersonLabHead.decode`.
    """
    preds = []
    for b, sample in enumerate(batch_data_samples):
        meta = sample.metainfo
        if 'batch_input_shape' in meta:
            h, w = meta['batch_input_shape']
            input_size = (int(w), int(h))
        else:
            input_size = input_size_of_grid(maps.grid_hw, maps.stride)
        A = input_affine_from_meta(meta)
        image_hw = tuple(int(v) for v in meta['ori_shape'][:2])
        people = decoder.decode(maps.image(b), input_size, A,
                                image_hw if decode_masks else None, timings)
        with Stopwatch(timings, maps.device)('results'):
            preds.append(people_to_instances(people, A, image_hw))
    return preds


def _to_input_boxes(boxes: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """(J, 4) xyxy image boxes -> the input-pixel boxes around their
    corners."""
    x0, y0, x1, y1 = boxes.T
    xs = np.stack([x0, x1, x0, x1])
    ys = np.stack([y0, y0, y1, y1])
    A = np.asarray(affine, dtype=np.float64)
    X = A[0, 0] * xs + A[0, 1] * ys + A[0, 2]
    Y = A[1, 0] * xs + A[1, 1] * ys + A[1, 2]
    return np.stack([X.min(0), Y.min(0), X.max(0), Y.max(0)], axis=1)


def people_to_instances(people: Dict[str, Tensor], image_to_input,
                        image_hw) -> InstanceData:
    """The people of one image as numpy ``pred_instances``.

    Boxes: around each mask (whole image pixels), or around the keypoints
    where the mask is empty, given in input pixels like the keypoints.
    Everything but the masks travels to the host in one transfer; from a
    GPU only the masks' boxes travel.
    """
    kp = people['keypoints']
    J, K = kp.shape[:2]
    masks = people.get('masks')
    if masks is None:
        masks = torch.zeros((J, *image_hw), dtype=torch.bool,
                            device=kp.device)
    boxes, has = mask_boxes(masks)
    host = torch.cat([
        kp.reshape(J, 2 * K), people['keypoint_scores'],
        people['scores'][:, None], boxes.to(kp.dtype), has[:, None].to(
            kp.dtype)
    ], dim=1).float().cpu().numpy()
    keypoints = host[:, :2 * K].reshape(J, K, 2)
    scores = host[:, 3 * K]
    image_boxes = host[:, 3 * K + 1:3 * K + 5].astype(np.int64)
    has_mask = host[:, 3 * K + 5] > 0
    bboxes = np.concatenate([keypoints.min(1), keypoints.max(1)],
                            axis=1).astype(np.float64)
    if has_mask.any():
        bboxes[has_mask] = _to_input_boxes(image_boxes[has_mask],
                                           image_to_input)
    pred = InstanceData()
    pred.keypoints = keypoints
    pred.keypoint_scores = host[:, 2 * K:3 * K]
    pred.bbox_scores = scores
    pred.scores = scores
    pred.labels = np.zeros(J, dtype=np.int64)
    pred.bboxes = bboxes
    pred.masks = masks_to_numpy(masks, image_boxes, has_mask)
    return pred
