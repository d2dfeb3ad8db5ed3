"""PersonLab estimator: the test-time network (output stride on the same
weights, precision, scale pyramid, flips); the head decodes, MMPose maps
people back to the image."""
from contextlib import ExitStack, contextmanager
from typing import Dict, Iterator, List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.typing import SampleList
from torch import Tensor

from ..utils.atrous import (OutputStrideSwitch, resnet_output_stride,
                            resnet_output_stride_as)
from ..utils.tta import pyramid_sizes

_AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}

#: ``test_cfg`` keys the estimator reads; the head declares its own.
ESTIMATOR_TEST_KEYS = ('output_stride', 'amp', 'channels_last')


class PyramidFeatures(Sequence):
    """Features of each input of the test pyramid, computed when the head
    reaches them (one scale in memory at a time), in MMPose's nesting:
    ``feats`` or, with flips, ``[feats, feats_of_the_flipped_input]``.

    Args:
        features (callable): Input (B, 3, h, w) -> features.
        inputs (Tensor): The batch at its own size.
        sizes (Sequence[Tuple[int, int]]): ``(h, w)`` of each input, the
            batch's own first (:func:`~..utils.tta.pyramid_sizes`).
        flip (bool): Also run the horizontally flipped inputs.
    """

    def __init__(self, features, inputs: Tensor,
                 sizes: Sequence[Tuple[int, int]], flip: bool) -> None:
        self.features, self.inputs = features, inputs
        self.sizes, self.flip = list(sizes), flip

    def __len__(self) -> int:
        return len(self.sizes)

    def __getitem__(self, index: int):
        size = self.sizes[index]
        x = self.inputs if size == tuple(self.inputs.shape[-2:]) else \
            F.interpolate(self.inputs, size=size, mode='bilinear',
                          align_corners=True)
        feats = self.features(x)
        return [feats, self.features(x.flip(-1))] if self.flip else feats


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
       (``test_cfg.flip_test``);
    3. ``head.predict`` fuses the maps and decodes people and masks, and
       MMPose's ``add_pred_to_datasample`` maps keypoints and boxes back to
       the image (masks are decoded on the image grid).

    ``pred_instances`` holds ``keypoints`` (N, K, 2), ``keypoint_scores``
    (N, K), ``keypoints_visible``, ``bbox_scores`` and ``scores`` (the
    instance score), ``bboxes`` (N, 4, xyxy), ``masks`` (N, h, w) bool at
    the original image size and ``labels`` (zeros: person).

    ``train_cfg`` keys: ``channels_last`` (bool: CUDA training inputs in
    channels-last layout, see :meth:`loss`; ignored on the CPU).

    ``test_cfg`` keys of the estimator: ``output_stride`` (int, optional),
    ``amp`` (``'bf16'``, ``'fp16'`` or None: the network runs under
    ``torch.autocast`` with that dtype on CUDA inputs; the maps are
    decoded in float32) and ``channels_last`` (bool: on CUDA, inputs and,
    the first time, the model's weights are converted to the channels-last
    memory layout; same values, faster cuDNN kernels); both ignored on the
    CPU. The head's keys (``flip_test``, ``multiscale``, ``decode_masks``
    and the decoding settings) are listed by ``head.test_cfg_keys``;
    unknown keys are an error.

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
        head_keys = getattr(self.head, 'test_cfg_keys', None) \
            if self.with_head else None
        if head_keys is not None:  # typos would silently change nothing
            known = set(ESTIMATOR_TEST_KEYS) | set(head_keys)
            unknown = sorted(set(self.test_cfg) - known)
            if unknown:
                raise ValueError(f'unknown test_cfg keys {unknown}; known: '
                                 f'{sorted(known)}')
        self._stride_switches: Dict[Tuple[int, int], OutputStrideSwitch] = {}

    # ------------------------------------------------------------ training
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

    # ------------------------------------------------------- test network
    @contextmanager
    def test_stride(self) -> Iterator[int]:
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
        :class:`OutputStrideSwitch` when it is at ``train_stride``."""
        if resnet_output_stride(self.backbone) != train_stride:
            with resnet_output_stride_as(self.backbone, stride):
                yield
            return
        key = (train_stride, stride)
        if key not in self._stride_switches:
            self._stride_switches[key] = OutputStrideSwitch(
                self.backbone, train_stride, stride)
        with self._stride_switches[key].active():
            yield

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

    def test_features(self, x: Tensor) -> Tuple[Tensor, ...]:
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

    def pyramid(self, inputs: Tensor, stride: int):
        """The features ``head.predict`` takes for ``inputs``: MMPose's
        nesting (flip pairs; one entry per scale with
        ``test_cfg.multiscale``)."""
        inputs = self._test_layout(inputs)
        sides = self.test_cfg.get('multiscale')
        scales = PyramidFeatures(
            self.test_features, inputs,
            pyramid_sizes(tuple(inputs.shape[-2:]), sides, stride),
            self.test_cfg.get('flip_test', False))
        return scales if sides else scales[0]

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
        with self.test_stride() as stride:
            preds = self.head.predict(
                self.pyramid(inputs, stride), data_samples,
                test_cfg=self.test_cfg)
        return self.add_pred_to_datasample(preds, None, data_samples)
