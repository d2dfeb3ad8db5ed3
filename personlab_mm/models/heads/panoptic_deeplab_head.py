"""Panoptic-DeepLab's head (paper Sec. 3.1, Fig. 2): dual ASPP and dual
decoder over one backbone, a semantic prediction and a class-agnostic
instance centre heatmap and centre offsets, all at output stride 4."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

from ...decoders.panoptic_deeplab import PanopticDeepLabDecoder, PanopticResult
from ...functional import resample_to_image, upsample_to_input
from ...structures import DenseMaps, FieldSpec
from ..layers.deeplab import DeepLabDecoder, PredictionHead
from ..utils.panoptic_targets import batch_targets

#: The head's dense maps. The centre heatmap is an unbounded regression:
#: sanitised and fused like logits (never clipped to [0, 1]).
PANOPTIC_DEEPLAB_FIELDS = dict(
    semantic=FieldSpec('logits'),
    centre=FieldSpec('logits'),
    offsets=FieldSpec('offset', weight=None))


@MODELS.register_module()
class PanopticDeepLabHead(BaseModule):
    """Semantic branch (ASPP + decoder of ``semantic_channels``, 5x5
    depthwise-separable head) and instance branch (its own ASPP + decoder
    of ``instance_channels``, centre and offset heads).

    Outputs (:meth:`forward`), at the stride of the shallowest feature
    (4): semantic logits (B, C, H, W), centre heatmap (B, 1, H, W) and
    offsets (B, 2, H, W) ``(dx, dy)`` in input pixels (the network predicts
    them in output cells; they are multiplied by the stride, as the
    reference implementation does).

    Args:
        in_channels (Sequence[int]): Backbone feature channels, shallowest
            first (strides 4, 8, 16 or 32 for the last).
        num_things_classes (int): Thing classes (labels first).
        num_stuff_classes (int): Stuff classes.
        stride (int): Stride of the shallowest feature. Defaults to 4.
        aspp_channels (int): ASPP channels of both branches (256).
        aspp_dilations (Sequence[int]): ASPP rates at the training output
            stride (``(6, 12, 18)`` at 16).
        aspp_dropout (float): ASPP dropout (0.1).
        project_channels (Sequence[int]): Low-level projections,
            shallowest first (``(32, 64)``).
        semantic_channels (int): Semantic decoder and head channels (256).
        instance_channels (int): Instance decoder channels (128).
        instance_head_channels (int): Centre/offset head channels (32).
        norm_cfg (dict): Normalisation (BN; SyncBN on several GPUs).
        loss_semantic (dict): Semantic loss
            (:class:`~personlab_mm.models.losses.
            WeightedBootstrappedCrossEntropyLoss`).
        loss_centre (dict): Centre loss (MSE, weight 200).
        loss_offset (dict): Offset loss (L1, weight 0.01).
        target_cfg (dict): :func:`~personlab_mm.models.utils.
            panoptic_targets.image_targets` settings (``sigma``,
            ``small_instance_area``, ``small_instance_weight``,
            ``ignore_index``).
        test_cfg (dict): :class:`~personlab_mm.decoders.
            PanopticDeepLabDecoder` settings (``threshold``, ``nms_kernel``,
            ``top_k``, ``stuff_area``).
        init_cfg (dict, optional): Initialisation.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_things_classes: int,
                 num_stuff_classes: int,
                 stride: int = 4,
                 aspp_channels: int = 256,
                 aspp_dilations: Sequence[int] = (6, 12, 18),
                 aspp_dropout: float = 0.1,
                 project_channels: Sequence[int] = (32, 64),
                 semantic_channels: int = 256,
                 instance_channels: int = 128,
                 instance_head_channels: int = 32,
                 norm_cfg: Optional[dict] = None,
                 loss_semantic: Optional[dict] = None,
                 loss_centre: Optional[dict] = None,
                 loss_offset: Optional[dict] = None,
                 target_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        norm_cfg = norm_cfg or dict(type='BN')
        self.num_classes = num_things_classes + num_stuff_classes
        self.stride = stride
        branch = dict(in_channels=in_channels, aspp_channels=aspp_channels,
                      project_channels=project_channels,
                      aspp_dilations=aspp_dilations,
                      aspp_dropout=aspp_dropout, norm_cfg=norm_cfg)
        self.semantic_decoder = DeepLabDecoder(channels=semantic_channels,
                                               **branch)
        self.instance_decoder = DeepLabDecoder(channels=instance_channels,
                                               **branch)
        self.semantic_head = PredictionHead(semantic_channels,
                                            semantic_channels,
                                            self.num_classes, norm_cfg)
        self.centre_head = PredictionHead(instance_channels,
                                          instance_head_channels, 1,
                                          norm_cfg)
        self.offset_head = PredictionHead(instance_channels,
                                          instance_head_channels, 2,
                                          norm_cfg)
        self.loss_semantic = MODELS.build(loss_semantic or dict(
            type='WeightedBootstrappedCrossEntropyLoss'))
        self.loss_centre = MODELS.build(
            loss_centre or dict(type='MSELoss', loss_weight=200.))
        self.loss_offset = MODELS.build(
            loss_offset or dict(type='L1Loss', loss_weight=0.01))
        self.target_cfg = dict(target_cfg or {})
        self.decoder = PanopticDeepLabDecoder(
            num_things_classes, self.num_classes, **(test_cfg or {}))

    # ------------------------------------------------------------ network
    def set_aspp_rate_multiplier(self, multiplier: int) -> None:
        """Scale both ASPPs' rates (2 at output stride 8 after training at
        16)."""
        for decoder in (self.semantic_decoder, self.instance_decoder):
            decoder.aspp.set_rate_multiplier(multiplier)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Backbone features (shallowest first) -> semantic logits (B, C,
        H, W), centre heatmap (B, 1, H, W), offsets (B, 2, H, W) in input
        pixels."""
        semantic = self.semantic_head(self.semantic_decoder(feats))
        instance = self.instance_decoder(feats)
        return (semantic, self.centre_head(instance),
                self.offset_head(instance) * self.stride)

    def maps(self, feats: Sequence[Tensor]) -> DenseMaps:
        """:meth:`forward` as named :class:`DenseMaps` (offsets as one
        (x, y) field: (B, 1, 2, H, W))."""
        semantic, centre, offsets = self.forward(feats)
        return DenseMaps(
            dict(semantic=semantic, centre=centre, offsets=offsets[:, None]),
            PANOPTIC_DEEPLAB_FIELDS, self.stride)

    # ------------------------------------------------------------- losses
    def upsample(self, maps: Tensor, input_hw: Tuple[int, int]) -> Tensor:
        """(B, C, H, W) grid maps at every input pixel (B, C, h, w)
        (:func:`~personlab_mm.functional.upsample_to_input`)."""
        return upsample_to_input(maps, self.stride, input_hw)

    def loss(self, feats: Sequence[Tensor],
             batch_data_samples: List) -> Dict[str, Tensor]:
        """The three losses (``loss_semantic``, ``loss_centre``,
        ``loss_offset``) at input resolution."""
        input_hw = tuple(batch_data_samples[0].metainfo['batch_input_shape'])
        semantic, centre, offsets = (self.upsample(t, input_hw)
                                     for t in self.forward(feats))
        targets = batch_targets(batch_data_samples, input_hw,
                                semantic.device, **self.target_cfg)
        return dict(
            loss_semantic=self.loss_semantic(semantic, targets.semantic,
                                             targets.semantic_weights),
            loss_centre=self.loss_centre(
                centre, targets.centre, weight=targets.centre_weights,
                avg_factor=targets.centre_weights.sum()),
            loss_offset=self.loss_offset(
                offsets, targets.offsets, weight=targets.offset_weights,
                avg_factor=targets.offset_weights.sum()))

    # --------------------------------------------------------- prediction
    def image_maps(self, maps: DenseMaps, meta: dict,
                   rescale: bool) -> Tuple[Tensor, Tensor, Tensor]:
        """One image's maps resampled to its pixels.

        Image pixels are placed on the grid by
        :func:`~personlab_mm.functional.pixel_cells` with MMDetection's
        ``scale_factor`` (the resize of the test pipeline).

        Args:
            maps (DenseMaps): Batch-of-one maps on the output grid.
            meta (dict): ``img_shape``, ``ori_shape``, ``scale_factor``.
            rescale (bool): To the original image (else the resized
                input).

        Returns:
            tuple: logits (C, h, w), centre (h, w), offsets (2, h, w) in
            image pixels.
        """
        fields = torch.cat([maps['semantic'], maps['centre'],
                            maps['offsets'][:, 0]], dim=1)
        at_pixels, (sx, sy) = resample_to_image(fields, self.stride, meta,
                                                rescale)
        logits, centre, offsets = at_pixels[0].split(
            [self.num_classes, 1, 2])
        scale = offsets.new_tensor([1. / sx, 1. / sy])[:, None, None]
        return logits, centre[0], offsets * scale

    def decode(self, maps: DenseMaps, batch_data_samples: List,
               rescale: bool = True) -> List[PanopticResult]:
        """Panoptic, semantic and instance segmentation of each image from
        the batch's maps (non-finite values sanitised first)."""
        maps = maps.sanitized()
        return [
            self.decoder(*self.image_maps(one, sample.metainfo, rescale))
            for one, sample in zip(maps.unbatch(), batch_data_samples)
        ]

    def predict(self, feats: Sequence[Tensor], batch_data_samples: List,
                rescale: bool = True) -> List[PanopticResult]:
        """:meth:`decode` of :meth:`maps`."""
        return self.decode(self.maps(feats), batch_data_samples, rescale)
