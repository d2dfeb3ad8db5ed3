"""MMDetection's panoptic annotation loading with checks of the PNG
against the image and its ``segments_info``."""
from typing import Dict, Tuple

import mmcv
import numpy as np
from mmdet.datasets.transforms import LoadPanopticAnnotations
from mmdet.registry import TRANSFORMS
from mmdet.structures.mask import BitmapMasks
from mmengine.fileio import get

from ..datasets.coco_panoptic import PanopticAnnotationError

#: Label of unlabelled pixels in ``gt_seg_map`` (as MMDetection).
VOID_LABEL = 255


@TRANSFORMS.register_module()
class LoadCheckedPanopticAnnotations(LoadPanopticAnnotations):
    """``LoadPanopticAnnotations`` that checks the panoptic PNG.

    Same arguments and outputs as the parent (boxes, labels and ignore
    flags are the parent's code); the PNG is decoded as the parent does,
    then, before any mask is built, a :class:`PanopticAnnotationError`
    naming the PNG (and the segment) is raised when:

    - its (h, w) differs from the image's ``ori_shape`` (or the annotated
      ``height`` / ``width`` without a loaded image);
    - a non-zero id in it has no ``segments_info`` entry (the error says
      how many pixels it covers); ids of segments the dataset skipped
      (``skipped_segment_ids`` of :class:`CrowdAwareCocoPanopticDataset`:
      zero area or a box side < 1) are void, as in MMDetection;
    - ``segments_info`` uses id 0 (void) or an id twice;
    - the number of thing segments differs from the number of
      ``instances`` (masks would not line up with boxes and ignore flags).

    Masks and the semantic map come from one ``np.unique`` over the id map:
    ``gt_masks`` has one mask per thing segment in ``segments_info`` order
    (empty for a segment without pixels), a ``BitmapMasks`` of shape
    (0, h, w) when there is none; ``gt_seg_map`` holds the contiguous
    category of each pixel and 255 on void.
    """

    def _load_masks_and_semantic_segs(self, results: dict) -> None:
        """Load, check and split the panoptic PNG (see the class)."""
        path = results.get('seg_map_path')
        if path is None:  # inference without ground truth
            return
        pan = self.rgb2id(
            mmcv.imfrombytes(get(path, backend_args=self.backend_args),
                             flag='color', channel_order='rgb'))
        _check_shape(pan, results, path)
        segments = results['segments_info']
        seg_ids = np.array([s['id'] for s in segments], dtype=np.int64)
        _check_segment_ids(seg_ids, path)
        present, inverse, counts = np.unique(
            pan, return_inverse=True, return_counts=True)
        _check_pixels(present, counts, seg_ids,
                      results.get('skipped_segment_ids', ()), path)
        h, w = pan.shape
        inverse = inverse.reshape(h, w)
        # index into ``present`` of each segment, -1 when it has no pixels
        pos = np.searchsorted(present, seg_ids)
        found = (pos < present.size) & (
            present[np.minimum(pos, present.size - 1)] == seg_ids)
        index = np.where(found, pos, -1)
        if self.with_mask:
            results['gt_masks'] = self._thing_masks(results, segments, index,
                                                    inverse, path)
        if self.with_seg:
            lut = np.full(present.size, VOID_LABEL, dtype=pan.dtype)
            labels = np.array([s['category'] for s in segments],
                              dtype=pan.dtype)
            lut[index[found]] = labels[found]
            results['gt_seg_map'] = lut[inverse]

    def _thing_masks(self, results: dict, segments: list, index: np.ndarray,
                     inverse: np.ndarray, path: str) -> BitmapMasks:
        """One mask per thing segment, checked against the instances."""
        is_thing = np.array([bool(s.get('is_thing')) for s in segments],
                            dtype=bool)
        num_instances = len(results.get('instances', ()))
        if 'instances' in results and is_thing.sum() != num_instances:
            raise PanopticAnnotationError(
                f'{path}: {int(is_thing.sum())} thing segments but '
                f'{num_instances} instances, so masks would not line up '
                'with boxes and ignore flags (crowd segments dropped from '
                'instances? use CrowdAwareCocoPanopticDataset)')
        h, w = inverse.shape
        thing_index = index[is_thing].astype(inverse.dtype)
        masks = (inverse[None] == thing_index[:, None, None]).astype(
            np.uint8)
        return BitmapMasks(masks.reshape(-1, h, w), h, w)


def _expected_shape(results: dict) -> Tuple[Tuple[int, int], str]:
    """The (h, w) the PNG must have and what it comes from."""
    if 'ori_shape' in results:
        return tuple(results['ori_shape'][:2]), \
            f'image {results.get("img_path")}'
    return (results['height'], results['width']), 'annotated image size'


def _check_shape(pan: np.ndarray, results: dict, path: str) -> None:
    (h, w), source = _expected_shape(results)
    if pan.shape != (h, w):
        raise PanopticAnnotationError(
            f'{path}: panoptic PNG is {pan.shape[1]}x{pan.shape[0]} '
            f'(w x h) but the {source} is {w}x{h}')


def _check_segment_ids(seg_ids: np.ndarray, path: str) -> None:
    if (seg_ids == 0).any():
        raise PanopticAnnotationError(
            f'{path}: segments_info uses segment id 0, which means void')
    unique, counts = np.unique(seg_ids, return_counts=True)
    if (counts > 1).any():
        raise PanopticAnnotationError(
            f'{path}: segments_info uses segment id '
            f'{int(unique[counts > 1][0])} more than once')


def _check_pixels(present: np.ndarray, counts: np.ndarray,
                  seg_ids: np.ndarray, skipped, path: str) -> None:
    """Every non-zero id of the PNG is a segment (or a skipped one)."""
    known = np.concatenate([[0], seg_ids, np.asarray(skipped, np.int64)])
    unknown = ~np.isin(present, known)
    if unknown.any():
        pixels: Dict[int, int] = dict(
            zip(present[unknown].tolist(), counts[unknown].tolist()))
        first = next(iter(pixels))
        raise PanopticAnnotationError(
            f'{path}: segment id {first} covers {pixels[first]} pixels of '
            'the panoptic PNG but has no segments_info entry (ids without '
            f'entries and their pixel counts: {pixels})')
