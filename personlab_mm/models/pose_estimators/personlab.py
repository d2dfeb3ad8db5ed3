"""PersonLab estimator: test-time stride, flip and multi-scale, decoding,
and the mapping of people and masks back to the image."""
import math
from contextlib import ExitStack, contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import SampleList
from torch import Tensor, nn

from ...decoding import PersonLabMaps, Stopwatch
from ..utils.atrous import (resnet_output_stride, resnet_output_stride_as,
                            set_resnet_output_stride)
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


_AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}


def _plain_attributes(module: nn.Module) -> Dict[Tuple[nn.Module, str], Any]:
    """Every scalar or tuple attribute of ``module`` and its submodules."""
    return {(m, k): v
            for m in module.modules() for k, v in vars(m).items()
            if isinstance(v, (bool, int, float, str, tuple))}


class _StrideSwitch:
    """Switch a ResNet between two output strides by assigning, directly,
    the attributes :func:`set_resnet_output_stride` changes (recorded
    once): the same network, ~100x less Python per switch (it was 1.7 ms
    per prediction for ResNet-101).

    Args:
        backbone (nn.Module): An MMPose ResNet at ``from_stride``.
        from_stride (int): Its current output stride.
        to_stride (int): The other output stride.
    """

    def __init__(self, backbone: nn.Module, from_stride: int,
                 to_stride: int) -> None:
        before = _plain_attributes(backbone)
        set_resnet_output_stride(backbone, to_stride)
        after = _plain_attributes(backbone)
        set_resnet_output_stride(backbone, from_stride)
        if _plain_attributes(backbone) != before:
            raise RuntimeError('output stride switch is not reversible')
        self.changes = [(m, k, before[(m, k)], v)
                        for (m, k), v in after.items()
                        if before.get((m, k)) != v]

    def apply(self, forward: bool = True) -> None:
        """Go to ``to_stride`` (``forward``) or back to ``from_stride``."""
        for module, name, old, new in self.changes:
            module.__dict__[name] = new if forward else old


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

    ``train_cfg`` keys: ``channels_last`` (bool: CUDA training inputs in
    channels-last layout, see :meth:`loss`; ignored on the CPU).

    ``test_cfg`` keys: ``output_stride`` (int, optional), ``flip_test``
    (bool), ``multiscale`` (list of longest sides, optional; the input's own
    size is always used first), ``decode_masks`` (bool, default True),
    ``amp`` (``'bf16'``, ``'fp16'`` or None: the network runs under
    ``torch.autocast`` with that dtype on CUDA inputs; the maps are
    decoded in float32) and ``channels_last`` (bool: on CUDA, inputs and,
    the first time, the model's weights are converted to the channels-last
    memory layout; same values, faster cuDNN kernels). Both are ignored on
    the CPU. The paper configs set ``amp='bf16'`` and ``channels_last=True``
    (ResNet-101 features at 1401 px, output stride 8, one H100 run: 23.0 ms
    in float32, 14.2 ms in bf16 channels-last).

    Its parts (backbone, neck, head, data preprocessor) are built in MMPose's
    scope, also when the estimator is used from another toolbox's config
    (``type='mmpose.PersonLabEstimator'``); prefix a part's type with its
    scope (``'mmdet.ResNet'``) to take it from elsewhere.
    """

    def __init__(self, *args, **kwargs) -> None:
        with DefaultScope.overwrite_default_scope('mmpose'):
            super().__init__(*args, **kwargs)
        amp = self.test_cfg.get('amp')
        if amp is not None and amp not in _AMP_DTYPES:
            raise ValueError("test_cfg.amp must be 'bf16', 'fp16' or None, "
                             f'got {amp!r}')
        self._stride_switches: Dict[Tuple[int, int], _StrideSwitch] = {}

    # ----------------------------------------------------------- test maps
    @contextmanager
    def _test_stride(self) -> Iterator[int]:
        """Backbone and head at the test output stride."""
        train_stride = self.head.output_stride
        stride = self.test_cfg.get('output_stride') or train_stride
        with ExitStack() as stack:
            if stride != train_stride:
                stack.enter_context(self._backbone_stride(train_stride,
                                                          stride))
                self.head.output_stride = stride
                stack.callback(setattr, self.head, 'output_stride',
                               train_stride)
            yield stride

    @contextmanager
    def _backbone_stride(self, train_stride: int,
                         stride: int) -> Iterator[None]:
        """The backbone at ``stride``, through a recorded
        :class:`_StrideSwitch` when it is at ``train_stride``."""
        if resnet_output_stride(self.backbone) != train_stride:
            with resnet_output_stride_as(self.backbone, stride):
                yield
            return
        key = (train_stride, stride)
        if key not in self._stride_switches:
            self._stride_switches[key] = _StrideSwitch(
                self.backbone, train_stride, stride)
        switch = self._stride_switches[key]
        switch.apply(forward=True)
        try:
            yield
        finally:
            switch.apply(forward=False)

    def _test_layout(self, inputs: Tensor) -> Tensor:
        """``test_cfg.channels_last`` on CUDA inputs: the inputs (and, the
        first time, the model's weights) in channels-last layout."""
        if inputs.device.type != 'cuda' or not self.test_cfg.get(
                'channels_last', False):
            return inputs
        if not getattr(self, '_channels_last', False):
            self.to(memory_format=torch.channels_last)
            self._channels_last = True
        return inputs.contiguous(memory_format=torch.channels_last)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """MMPose's bottom-up losses; with ``train_cfg.channels_last``, CUDA
        inputs in channels-last layout.

        Only the inputs are converted: cuDNN then runs every convolution in
        channels-last (its output follows the input), and the weights keep
        their layout, so DDP's gradient buckets, checkpoints and EMA copies
        are as without the option.
        """
        if inputs.device.type == 'cuda' and self.train_cfg.get(
                'channels_last', False):
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return super().loss(inputs, data_samples)

    def _features(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Backbone (and neck) features; under ``test_cfg.amp`` on CUDA the
        network runs in that precision and the features come back in
        float32, so the 1x1 prediction layers, the refinement and the
        decoding stay in float32 (offsets of hundreds of pixels lose up to
        a pixel in bf16)."""
        amp = self.test_cfg.get('amp')
        if amp is None or x.device.type != 'cuda':
            return self.extract_feat(x)
        with torch.autocast('cuda', dtype=_AMP_DTYPES[amp]):
            feats = self.extract_feat(x)
        if isinstance(feats, Tensor):
            return feats.float()
        return tuple(f.float() for f in feats)

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
            return self.head.predict_maps(self._features(x))

        inputs = self._test_layout(inputs)
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
            timings (dict, optional): Filled with per-stage milliseconds:
                the decoder's stages and ``results`` (boxes, the transfer
                to the host, masks as numpy).

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
            kp_img = _affine(poses['keypoints'],
                             np.linalg.inv(np.vstack([A, [0., 0., 1.]]))[:2])
            J = kp_img.shape[0]
            if decode_masks:
                masks = codec.decode_masks(m, poses, A, (h, w), timings)
            else:
                masks = kp_img.new_zeros((J, h, w), dtype=torch.bool)
            clock = Stopwatch(timings, masks.device)
            with clock('results'):  # boxes, and everything to the host
                pred = self._host_instances(kp_img, poses, masks)
            sample.pred_instances = pred
        return data_samples

    @staticmethod
    def _host_instances(kp_img: Tensor, poses: Dict[str, Tensor],
                        masks: Tensor) -> InstanceData:
        """The people of one image as numpy ``pred_instances``: boxes from
        the masks, one transfer for everything but the masks, the masks'
        boxes only from a GPU."""
        J, K = kp_img.shape[:2]
        boxes, has_mask = _boxes(kp_img, masks)
        # everything but the masks in one transfer
        host = torch.cat([
            kp_img.reshape(J, 2 * K), poses['keypoint_scores'],
            poses['scores'][:, None], boxes, has_mask[:, None]
        ], dim=1).float().cpu().numpy()
        scores = host[:, 3 * K]
        pred = InstanceData()
        pred.keypoints = host[:, :2 * K].reshape(J, K, 2)
        pred.keypoint_scores = host[:, 2 * K:3 * K]
        pred.keypoints_visible = pred.keypoint_scores
        pred.bboxes = host[:, 3 * K + 1:3 * K + 5]
        pred.bbox_scores = scores
        pred.scores = scores
        pred.labels = np.zeros(J, dtype=np.int64)
        pred.masks = _masks_to_numpy(masks, pred.bboxes,
                                     host[:, 3 * K + 5] > 0)
        return pred


def _affine(points: Tensor, M: np.ndarray) -> Tensor:
    """(..., 2) points through a (2, 3) affine, in the points' dtype."""
    x, y = points[..., 0], points[..., 1]
    return torch.stack([
        x * float(M[0, 0]) + y * float(M[0, 1]) + float(M[0, 2]),
        x * float(M[1, 0]) + y * float(M[1, 1]) + float(M[1, 2])
    ], dim=-1)


def _boxes(keypoints: Tensor, masks: Tensor) -> Tuple[Tensor, Tensor]:
    """xyxy box of each person: around its mask, or around its keypoints
    where the mask is empty.

    Args:
        keypoints (Tensor): (J, K, 2) in image pixels.
        masks (Tensor): (J, h, w) bool, on the same device.

    Returns:
        tuple: boxes (J, 4) in the dtype of ``keypoints`` (mask boxes are
        whole pixels, exclusive at the right and bottom) and (J,) whether
        the mask is non-empty, in the same dtype.
    """
    J, h, w = masks.shape
    if J == 0:
        return keypoints.new_zeros((0, 4)), keypoints.new_zeros(0)
    boxes = torch.cat([keypoints.amin(1), keypoints.amax(1)], dim=1)
    # a uint8 max is one vectorised pass; a bool any() along a dimension
    # is 20-60x slower on the CPU (torch 2.14)
    pixels = masks.view(torch.uint8)
    cols = pixels.amax(dim=1)  # (J, w)
    rows = pixels.amax(dim=2)  # (J, h)
    mask_boxes = torch.stack([
        cols.argmax(1), rows.argmax(1), w - cols.flip(1).argmax(1),
        h - rows.flip(1).argmax(1)
    ], dim=1).to(boxes.dtype)
    has = rows.amax(dim=1) > 0
    return torch.where(has[:, None], mask_boxes, boxes), has.to(boxes.dtype)


def _masks_to_numpy(masks: Tensor,
                    boxes: np.ndarray,
                    has_mask: np.ndarray,
                    crop: Optional[bool] = None) -> np.ndarray:
    """(J, h, w) bool masks on the host. From a GPU only the box of every
    non-empty mask travels (one transfer): the bytes follow the people's
    area, not ``J`` times the image.

    Args:
        masks (Tensor): (J, h, w) bool.
        boxes (np.ndarray): (J, 4) xyxy, the mask boxes from
            :func:`_boxes` where ``has_mask``.
        has_mask (np.ndarray): (J,) bool.
        crop (bool, optional): Transfer the boxes only; defaults to
            whether ``masks`` is on a GPU.
    """
    if not (masks.device.type != 'cpu' if crop is None else crop):
        return masks.cpu().numpy()
    J, h, w = masks.shape
    out = np.zeros((J, h, w), dtype=bool)
    crops = [(j, int(y0), int(y1), int(x0), int(x1))
             for j, (x0, y0, x1, y1) in enumerate(boxes) if has_mask[j]]
    if not crops:
        return out
    flat = torch.cat([
        masks[j, y0:y1, x0:x1].reshape(-1) for j, y0, y1, x0, x1 in crops
    ]).cpu().numpy()
    start = 0
    for j, y0, y1, x0, x1 in crops:
        size = (y1 - y0) * (x1 - x0)
        out[j, y0:y1, x0:x1] = flat[start:start + size].reshape(
            y1 - y0, x1 - x0)
        start += size
    return out
