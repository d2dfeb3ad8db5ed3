"""Training-target transform for PersonLab."""
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import KEYPOINT_CODECS, TRANSFORMS

from .rasterize import SegmentationError, rasterize_segmentation


def input_to_grid_affine(warp_mat: Optional[np.ndarray],
                         flip_direction: Optional[str],
                         input_size: Tuple[int, int],
                         output_stride: int) -> np.ndarray:
    """Compose image->input warp, the pipeline's flip and output striding.

    Args:
        warp_mat (np.ndarray, optional): (2, 3) map from image to network
            input pixels (``results['warp_mat']``); None means identity.
        flip_direction (str, optional): ``'horizontal'``, ``'vertical'``,
            ``'diagonal'`` or None, as set by ``RandomFlip``.
        input_size (Tuple[int, int]): Network input ``(w, h)``.
        output_stride (int): Output stride ``s``.

    Returns:
        np.ndarray: (2, 3) map from image pixels to output grid cells.
    """
    m = np.eye(3)
    if warp_mat is not None:
        warp_mat = np.asarray(warp_mat, dtype=np.float64)
        if warp_mat.shape != (2, 3):
            raise ValueError('GeneratePersonLabTargets supports affine warps '
                             f'(2x3 warp_mat) only, got {warp_mat.shape}')
        m[:2] = warp_mat
    w, h = input_size
    flip = np.eye(3)
    if flip_direction in ('horizontal', 'diagonal'):
        flip[0] = (-1., 0., w - 1.)
    if flip_direction in ('vertical', 'diagonal'):
        flip[1] = (0., -1., h - 1.)
    if flip_direction not in (None, 'horizontal', 'vertical', 'diagonal'):
        raise ValueError(f'unknown flip_direction {flip_direction!r}')
    stride = np.diag([1. / output_stride, 1. / output_stride, 1.])
    return (stride @ flip @ m)[:2]


@TRANSFORMS.register_module()
class GeneratePersonLabTargets(BaseTransform):
    """Rasterise every person's mask on the output grid and encode the
    PersonLab targets with :class:`PersonLabCodec`.

    Put it after the geometric transforms (``BottomupRandomAffine``,
    ``RandomFlip``): keypoints arrive already warped and flipped (with left
    and right swapped by ``RandomFlip``), and each person's own COCO
    segmentation, polygons or RLE, is taken from ``raw_ann_info`` (the
    bottom-up dataset flattens the per-person ``segmentation`` lists into one
    list, so they cannot be used) and sent through the same warp and flip.

    Crowd annotations (``iscrowd=1``) become the crowd region, excluded from
    the heatmap and segmentation losses; people with fewer than the codec's
    ``min_keypoints`` labelled keypoints keep their mask in the segmentation
    target but are excluded from the heatmap loss.

    Required Keys:

        - keypoints
        - keypoints_visible
        - raw_ann_info
        - ori_shape
        - input_size (optional, else img_shape)
        - warp_mat (optional)
        - flip (optional)
        - flip_direction (optional)
        - img_path (optional, for error messages)

    Added Keys:

        - heatmaps, heatmap_weights, short_offsets, short_weights,
          mid_offsets, mid_weights, long_offsets, long_weights,
          segmentation, segmentation_weights (see :class:`PersonLabCodec`)
        - field_mapping_table

    Args:
        encoder (dict): Config of the :class:`PersonLabCodec`.
    """

    def __init__(self, encoder: dict) -> None:
        super().__init__()
        self.encoder_cfg = encoder.copy()
        self.encoder = KEYPOINT_CODECS.build(self.encoder_cfg)

    def _rasterize_people(self, results: Dict, anns: List[dict],
                          affine: np.ndarray) -> np.ndarray:
        """(N, H, W) bool masks of the given annotations on the grid."""
        W, H = self.encoder.heatmap_size
        image_hw = tuple(int(v) for v in results['ori_shape'][:2])
        masks = np.zeros((len(anns), H, W), dtype=bool)
        for i, ann in enumerate(anns):
            try:
                masks[i] = rasterize_segmentation(
                    ann.get('segmentation'), image_hw, affine, (W, H))
            except SegmentationError as e:
                raise SegmentationError(
                    f"{results.get('img_path', '<unknown image>')}: "
                    f"annotation id {ann.get('id')}: bad segmentation: {e}"
                ) from e
        return masks

    def transform(self, results: Dict) -> Dict:
        """Add the PersonLab targets to ``results``."""
        K = self.encoder.num_keypoints
        img_path = results.get('img_path', '<unknown image>')
        anns = results.get('raw_ann_info') or []
        if isinstance(anns, dict):
            anns = [anns]
        keypoints = np.asarray(results.get('keypoints', np.zeros((0, K, 2))),
                               dtype=np.float32)
        if keypoints.size == 0:
            keypoints = keypoints.reshape(0, K, 2)
        if keypoints.ndim != 3 or keypoints.shape[1:] != (K, 2):
            raise ValueError(f'{img_path}: keypoints have shape '
                             f'{keypoints.shape}, expected (N, {K}, 2)')
        visible = np.asarray(
            results.get('keypoints_visible', np.ones(keypoints.shape[:2])),
            dtype=np.float32).reshape(keypoints.shape[0], K)
        if len(anns) != keypoints.shape[0]:
            raise ValueError(
                f'{img_path}: {keypoints.shape[0]} keypoint instances but '
                f'{len(anns)} raw_ann_info entries; GeneratePersonLabTargets '
                'needs the per-person annotations that mmpose datasets keep '
                "in 'raw_ann_info' (data_mode='bottomup')")

        input_size = results.get('input_size')
        if input_size is None:
            input_size = tuple(results['img_shape'][:2])[::-1]
        input_size = (int(input_size[0]), int(input_size[1]))
        if input_size != self.encoder.input_size:
            raise ValueError(
                f'{img_path}: network input size {input_size} differs from '
                f'the codec input_size {self.encoder.input_size}')
        flip_direction = results.get('flip_direction') if results.get(
            'flip', False) else None
        affine = input_to_grid_affine(
            results.get('warp_mat'), flip_direction, input_size,
            self.encoder.output_stride)

        is_crowd = np.array([bool(a.get('iscrowd', 0)) for a in anns],
                            dtype=bool)
        W, H = self.encoder.heatmap_size
        masks = self._rasterize_people(results, anns, affine)
        crowd_mask = masks[is_crowd].any(axis=0) if is_crowd.any() else \
            np.zeros((H, W), dtype=bool)
        people = ~is_crowd
        encoded = self.encoder.encode(
            keypoints=keypoints[people],
            keypoints_visible=visible[people],
            person_masks=masks[people],
            crowd_mask=crowd_mask)
        results.update(encoded)
        results['field_mapping_table'] = self.encoder.field_mapping_table
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(encoder={self.encoder_cfg})'
