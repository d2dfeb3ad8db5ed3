"""Training-target transform for PersonLab."""
from typing import Dict, List, Optional, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS, TRANSFORMS

from ...utils.registry import build_in_mmpose_scope
from .rasterize import SegmentationError, rasterize_segmentation_crop


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

    Masks are rasterised ``supersample`` times finer than the output grid
    and pooled into coverage maps: the segmentation target is the fraction
    of each cell covered by people (soft targets put mask borders at the
    right sub-cell place once the predictions are bilinearly upsampled), a
    person owns the cells it covers by at least half.

    People annotated without a ``segmentation`` (keypoint-only datasets)
    are encoded without a mask (the codec's ``masked``): their long-range
    offsets are trained around their keypoints and the image's
    segmentation is not trained.

    Crowd annotations (``iscrowd=1``) become the crowd region, excluded from
    the heatmap and segmentation losses; people with fewer than the codec's
    ``min_keypoints`` labelled keypoints keep their mask in the segmentation
    target but are excluded from the heatmap loss, unless
    ``impute_keypoints`` gives them keypoints: paper Sec. 3.3 imputes the
    keypoints of COCO's small unannotated people (with a pose estimator) to
    train instance segmentation on them; here an upright template is fitted
    to the person's mask box.

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
        encoder (dict | PersonLabCodec): The codec or its config.
        supersample (int): Mask sub-samples per cell side. Defaults to 4.
        impute_keypoints (bool): Give template keypoints to people with a
            mask and too few keypoints (an upright template by keypoint
            name, :data:`personlab_mm.structures.IMPUTATION_TEMPLATE`).
            Defaults to False.
    """

    def __init__(self,
                 encoder: Union[dict, BaseKeypointCodec],
                 supersample: int = 4,
                 impute_keypoints: bool = False) -> None:
        super().__init__()
        if supersample < 1:
            raise ValueError(f'supersample must be >= 1, got {supersample}')
        if isinstance(encoder, BaseKeypointCodec):  # already built
            self.encoder_cfg = dict(type=type(encoder).__name__)
            self.encoder = encoder
        else:
            self.encoder_cfg = encoder.copy()
            self.encoder = build_in_mmpose_scope(KEYPOINT_CODECS,
                                                 self.encoder_cfg)
        self.supersample = int(supersample)
        self.impute_keypoints = impute_keypoints
        # the template must have a position for each of the codec's
        # keypoints (by name)
        self.template = self.encoder.keypoints.imputation_template() \
            if impute_keypoints else None

    def _rasterize_people(self, results: Dict, anns: List[dict],
                          affine: np.ndarray, is_crowd: np.ndarray
                          ) -> Tuple[np.ndarray, ...]:
        """Coverage maps of the annotations on the output grid.

        Each mask is rasterised on a grid ``supersample`` times finer
        (sub-cell ``(fy, fx)`` samples the point ``((fx + 0.5) / n - 0.5,
        (fy + 0.5) / n - 0.5)`` of the output grid, so the ``n x n``
        sub-cells of a cell spread evenly over its area) and pooled right
        away, so memory does not grow with the number of people.

        Returns:
            tuple: per-annotation coverage (N, H, W) float32, union coverage
            of the non-crowd people and of the crowds (H, W), and each
            annotation's mask box in input pixels (N, 4) as ``x0, y0, x1,
            y1`` (NaN for an empty mask).
        """
        W, H = self.encoder.heatmap_size
        n, s = self.supersample, self.encoder.output_stride
        fine_affine = np.array([[n, 0., (n - 1) / 2.],
                                [0., n, (n - 1) / 2.]]) @ \
            np.vstack([affine, [0., 0., 1.]])
        image_hw = tuple(int(v) for v in results['ori_shape'][:2])
        coverage = np.zeros((len(anns), H, W), dtype=np.float32)
        unions = np.zeros((2, n * H, n * W), dtype=bool)  # people, crowds
        boxes = np.full((len(anns), 4), np.nan, dtype=np.float32)
        for i, ann in enumerate(anns):
            try:
                fine, (fx, fy) = rasterize_segmentation_crop(
                    ann.get('segmentation'), image_hw, fine_affine,
                    (n * W, n * H), align=n)
            except SegmentationError as e:
                raise SegmentationError(
                    f"{results.get('img_path', '<unknown image>')}: "
                    f"annotation id {ann.get('id')}: bad segmentation: {e}"
                ) from e
            cols, rows = fine.any(axis=0), fine.any(axis=1)
            if not cols.any():
                continue
            fh, fw = fine.shape
            unions[int(is_crowd[i]), fy:fy + fh, fx:fx + fw] |= fine
            coverage[i, fy // n:(fy + fh) // n,
                     fx // n:(fx + fw) // n] = self._coverage(fine)
            lo = np.array([fx + cols.argmax(), fy + rows.argmax()],
                          np.float32)
            hi = np.array([fx + fw - 1 - cols[::-1].argmax(),
                           fy + fh - 1 - rows[::-1].argmax()], np.float32)
            # sub-cell index -> input pixels
            boxes[i] = np.concatenate([((lo + .5) / n - .5) * s,
                                       ((hi + .5) / n - .5) * s])
        return (coverage, self._coverage(unions[0]),
                self._coverage(unions[1]), boxes)

    def _coverage(self, fine: np.ndarray) -> np.ndarray:
        """(n H, n W) bool -> (H, W) fraction of each cell covered."""
        n = self.supersample
        if n == 1:
            return fine.astype(np.float32)
        return cv2.resize(
            fine.astype(np.float32), (fine.shape[1] // n, fine.shape[0] // n),
            interpolation=cv2.INTER_AREA)

    def _impute(self, keypoints: np.ndarray, visible: np.ndarray,
                boxes: np.ndarray) -> None:
        """Template keypoints for people with a mask but too few labelled
        keypoints, in place (paper Sec. 3.3; geometric stand-in).

        Args:
            keypoints (np.ndarray): (N, K, 2).
            visible (np.ndarray): (N, K).
            boxes (np.ndarray): (N, 4) mask boxes, NaN where empty.
        """
        need = (visible > 0).sum(axis=1) < self.encoder.min_keypoints
        need &= np.isfinite(boxes).all(axis=1)
        template = self.template
        lo, hi = boxes[need, None, :2], boxes[need, None, 2:]
        keypoints[need] = lo + template[None] * (hi - lo)
        visible[need] = 1.

    def transform(self, results: Dict) -> Dict:
        """Add the PersonLab targets to ``results``."""
        K = self.encoder.num_keypoints
        img_path = results.get('img_path', '<unknown image>')
        anns = results.get('raw_ann_info') or []
        if isinstance(anns, dict):
            anns = [anns]
        keypoints = np.array(results.get('keypoints', np.zeros((0, K, 2))),
                             dtype=np.float32)
        if keypoints.size == 0:
            keypoints = keypoints.reshape(0, K, 2)
        if keypoints.ndim != 3 or keypoints.shape[1:] != (K, 2):
            raise ValueError(
                f'{img_path}: keypoints have shape {keypoints.shape}, the '
                f'codec expects (N, {K}, 2) (keypoint set '
                f'{self.encoder.keypoints.dataset_name!r}): give '
                "the codec the dataset's metainfo")
        visible = np.array(
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
        people = ~is_crowd
        coverage, segmentation, crowd, boxes = self._rasterize_people(
            results, anns, affine, is_crowd)
        keypoints, visible = keypoints[people], visible[people]
        if self.impute_keypoints:
            self._impute(keypoints, visible, boxes[people])
        # keypoint-only annotations (CrowdPose, MPII, ...) have no mask
        masked = np.array([bool(a.get('segmentation')) for a in anns],
                          dtype=bool)
        encoded = self.encoder.encode(
            keypoints=keypoints,
            keypoints_visible=visible,
            person_masks=coverage[people],
            crowd_mask=crowd,
            segmentation=segmentation,
            masked=masked[people])
        results.update(encoded)
        results['field_mapping_table'] = self.encoder.field_mapping_table
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(encoder={self.encoder_cfg})'
