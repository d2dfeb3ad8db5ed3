"""PersonLab estimator: test-time stride, flip and multi-scale, decoding,
and the mapping of people and masks back to the image."""
import math
from contextlib import ExitStack, contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import SampleList
from torch import Tensor

from ...decoding import PersonLabMaps
from ..utils.atrous import resnet_output_stride_as
from ..utils.tta import average, flip_back, rescale_to, unbatch


def image_to_input_affine(metainfo: dict) -> np.ndarray:
    """(2, 3) affine from image pixels to network input pixels.

    Inverts MMPose's test-time convention (``BottomupResize``,
    :class:`PersonLabResize`): ``image = input / input_size * input_scale +
    input_center - input_scale / 2``.
    """
    w, h = metainfo['input_size']
    sx, sy = metainfo['input_scale']
    cx, cy = metainfo['input_center']
    ax, ay = w / sx, h / sy
    return np.array([[ax, 0., (sx / 2. - cx) * ax],
                     [0., ay, (sy / 2. - cy) * ay]], dtype=np.float64)


@MODELS.register_module()
class PersonLabEstimator(BottomupPoseEstimator):
    """Bottom-up estimator for :class:`PersonLabHead`.

    Training is MMPose's bottom-up training. Prediction:

    1. optionally switch the ResNet backbone to another output stride on
       the same weights (``test_cfg.output_stride``; paper: train 16, test
       8);
    2. run the network at every test scale (``test_cfg.multiscale``:
       longest input sides, paper: 601/1201/1801/2401; the input tensor is
       resized corner-aligned) and on horizontally flipped inputs
       (``test_cfg.flip_test``), bring every result back to the first scale's
       grid (offsets rescaled, left/right keypoints and edges swapped, x
       offsets negated) and average them;
    3. decode people with the head's codec and map keypoints and boxes back
       to the image; compute the instance masks directly on the image grid.

    ``pred_instances`` holds ``keypoints`` (N, K, 2), ``keypoint_scores``
    (N, K), ``keypoints_visible``, ``bbox_scores`` and ``scores`` (the
    instance score), ``bboxes`` (N, 4, xyxy), ``masks`` (N, h, w) bool at
    the original image size and ``labels`` (zeros: person).

    ``test_cfg`` keys: ``output_stride`` (int, optional), ``flip_test``
    (bool), ``multiscale`` (list of longest sides, optional; the input's own
    size is always used first), ``decode_masks`` (bool, default True).

    Its parts (backbone, neck, head, data preprocessor) are built in MMPose's
    scope, also when the estimator is used from another toolbox's config
    (``type='mmpose.PersonLabEstimator'``); prefix a part's type with its
    scope (``'mmdet.ResNet'``) to take it from elsewhere.
    """

    def __init__(self, *args, **kwargs) -> None:
        with DefaultScope.overwrite_default_scope('mmpose'):
            super().__init__(*args, **kwargs)

    # ----------------------------------------------------------- test maps
    @contextmanager
    def _test_stride(self) -> Iterator[int]:
        """Backbone and head at the test output stride."""
        train_stride = self.head.output_stride
        stride = self.test_cfg.get('output_stride') or train_stride
        with ExitStack() as stack:
            if stride != train_stride:
                stack.enter_context(
                    resnet_output_stride_as(self.backbone, stride))
                self.head.output_stride = stride
                stack.callback(setattr, self.head, 'output_stride',
                               train_stride)
            yield stride

    def _scaled_sizes(self, h: int, w: int,
                      stride: int) -> List[Tuple[int, int]]:
        """Input sizes of the test pyramid, the input's own size first."""
        sizes = [(h, w)]
        longest = max(h, w)
        for side in self.test_cfg.get('multiscale') or []:
            f = (side - 1) / max(longest - 1, 1)
            size = tuple(
                int(math.ceil((n - 1) * f / stride)) * stride + 1
                for n in (h, w))
            if size not in sizes:
                sizes.append(size)
        return sizes

    def predict_maps(self, inputs: Tensor) -> PersonLabMaps:
        """Fused test-time maps of a batch, on the grid of ``inputs``.

        Args:
            inputs (Tensor): (B, 3, h, w) preprocessed images.

        Returns:
            PersonLabMaps: batched maps (leading batch dimension).
        """
        flip = self.test_cfg.get('flip_test', False)
        codec = self.head.decoder
        h, w = inputs.shape[-2:]

        def maps_of(x: Tensor) -> PersonLabMaps:
            return self.head.predict_maps(self.extract_feat(x))

        with self._test_stride() as stride:
            grid_hw = None
            results = []
            for size in self._scaled_sizes(h, w, stride):
                x = inputs if size == (h, w) else F.interpolate(
                    inputs, size=size, mode='bilinear', align_corners=True)
                maps = [maps_of(x)]
                if flip:
                    maps.append(
                        flip_back(
                            maps_of(x.flip(-1)), size[1], codec.flip_indices,
                            codec.flip_edge_indices))
                fused = average(maps, codec.edge_sources)
                if grid_hw is None:
                    grid_hw = fused.heatmaps.shape[-2:]
                else:
                    fused = rescale_to(fused, size, (h, w), grid_hw)
                results.append(fused)
        return average(results, codec.edge_sources)

    # ------------------------------------------------------------- predict
    def predict(self, inputs: Union[Tensor, List[Tensor]],
                data_samples: SampleList) -> SampleList:
        """Predict people (keypoints, scores, boxes, masks) per image."""
        assert self.with_head, 'PersonLabEstimator needs a head'
        if isinstance(inputs, (list, tuple)):
            raise ValueError(
                'PersonLabEstimator builds its test pyramid itself from one '
                'input per image: set test_cfg.multiscale instead of '
                'aug_scales in the pipeline')
        maps = self.predict_maps(inputs)
        return self.decode_maps(
            maps, data_samples, input_hw=tuple(inputs.shape[-2:]))

    def decode_maps(self,
                    maps: PersonLabMaps,
                    data_samples: SampleList,
                    input_hw: Optional[Sequence[int]] = None,
                    timings: Optional[dict] = None) -> SampleList:
        """Decode batched maps into ``pred_instances`` in image space.

        Args:
            maps (PersonLabMaps): Batched maps on the input grid.
            data_samples (List[PoseDataSample]): With ``input_size``,
                ``input_center``, ``input_scale`` and ``ori_shape`` metainfo.
            input_hw (Sequence[int], optional): Input tensor size; defaults
                to the one the grid implies.
            timings (dict, optional): Filled with per-stage milliseconds.

        Returns:
            List[PoseDataSample]: ``data_samples`` with ``pred_instances``.
        """
        codec = self.head.decoder
        decode_masks = self.test_cfg.get('decode_masks', True)
        for m, sample in zip(unbatch(maps), data_samples):
            meta = sample.metainfo
            input_size = (int(input_hw[1]), int(input_hw[0])) if input_hw \
                else None
            poses = codec.decode(m, input_size, timings)
            A = image_to_input_affine(meta)
            h, w = meta['ori_shape'][:2]
            keypoints = poses['keypoints'].cpu().numpy().astype(np.float32)
            J = len(keypoints)
            inv = np.linalg.inv(np.vstack([A, [0., 0., 1.]]))[:2]
            kp_img = keypoints @ inv[:, :2].T.astype(np.float32) + inv[:, 2]
            if decode_masks:
                masks = codec.decode_masks(m, poses, A, (h, w),
                                           timings).cpu().numpy()
            else:
                masks = np.zeros((J, h, w), dtype=bool)
            scores = poses['scores'].cpu().numpy().astype(np.float32)
            pred = InstanceData()
            pred.keypoints = kp_img.astype(np.float32)
            pred.keypoint_scores = poses['keypoint_scores'].cpu().numpy(
            ).astype(np.float32)
            pred.keypoints_visible = pred.keypoint_scores
            pred.bboxes = _boxes(kp_img, masks)
            pred.bbox_scores = scores
            pred.scores = scores
            pred.labels = np.zeros(J, dtype=np.int64)
            pred.masks = masks
            sample.pred_instances = pred
        return data_samples


def _boxes(keypoints: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """xyxy box of each person: around its mask, or around its keypoints
    where the mask is empty.

    Args:
        keypoints (np.ndarray): (J, K, 2) in image pixels.
        masks (np.ndarray): (J, h, w) bool.

    Returns:
        np.ndarray: (J, 4) float32.
    """
    J = len(keypoints)
    if J == 0:
        return np.zeros((0, 4), dtype=np.float32)
    boxes = np.concatenate([keypoints.min(1), keypoints.max(1)], axis=1)
    cols, rows = masks.any(axis=1), masks.any(axis=2)  # (J, w), (J, h)
    has = cols.any(axis=1)
    w, h = cols.shape[1], rows.shape[1]
    mask_boxes = np.stack([
        cols.argmax(1), rows.argmax(1), w - cols[:, ::-1].argmax(1),
        h - rows[:, ::-1].argmax(1)
    ], axis=1)
    boxes[has] = mask_boxes[has]
    return boxes.astype(np.float32)
