"""PersonLab's multi-branch prediction head with recurrent refinement."""
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import InstanceData
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.typing import (ConfigType, OptConfigType, OptSampleList,
                                 Predictions)
from torch import Tensor

from ...decoders import PersonLabDecoder, personlab_map_specs
from ...structures import DenseMaps
from ...utils.registry import build_in_mmpose_scope
from ..utils.instances import decode_instances
from ..utils.refine import refine_long_offsets, refine_mid_offsets
from ..utils.tta import fuse_test_time_maps


class PersonLabPredictor(nn.Module):
    """One set of 1x1 prediction layers (one per output) on a feature map.

    Offsets are predicted in units of ``offset_scale`` pixels (the conv
    output is multiplied by it), which keeps their dynamic range close to
    the heatmap logits; combined with the L1 loss divided by ``R`` this is
    the paper's normalisation.
    """

    def __init__(self, in_channels: int, num_keypoints: int, num_edges: int,
                 offset_scale: float) -> None:
        super().__init__()
        K, E = num_keypoints, num_edges
        self.offset_scale = offset_scale
        self.heatmap = nn.Conv2d(in_channels, K, 1)
        self.short = nn.Conv2d(in_channels, 2 * K, 1)
        self.mid = nn.Conv2d(in_channels, 2 * E, 1)
        self.long = nn.Conv2d(in_channels, 2 * K, 1)
        self.segmentation = nn.Conv2d(in_channels, 1, 1)

    def init_weights(self) -> None:
        """Small random weights, zero offsets and a low heatmap prior."""
        for conv in (self.heatmap, self.short, self.mid, self.long,
                     self.segmentation):
            nn.init.normal_(conv.weight, std=0.001)
            nn.init.zeros_(conv.bias)
        # prior p = 0.01 for the rare keypoint disks
        nn.init.constant_(self.heatmap.bias, -4.595)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Raw (unrefined) outputs: logits (B, K, H, W) and (B, 1, H, W),
        offsets (B, 2C, H, W) in input pixels, ``(x, y)`` interleaved."""
        s = self.offset_scale
        return (self.heatmap(x), self.short(x) * s, self.mid(x) * s,
                self.long(x) * s, self.segmentation(x))


@MODELS.register_module()
class PersonLabHead(BaseHead):
    """PersonLab head: heatmaps, short-, mid- and long-range offsets and
    person segmentation from 1x1 convolutions, with recurrent refinement.

    Refinement follows the paper exactly and runs at the output resolution
    with bilinear sampling that back-propagates into both offset branches:
    mid-range offsets are refined twice with the short-range offsets of
    their target keypoint (Eq. 2); long-range offsets twice with themselves
    and then twice with the short-range offsets (Eq. 5). An optional second
    set of prediction layers on an intermediate backbone stage (paper 4.1)
    is trained with the same losses and ignored at test time.

    Outputs are :class:`~personlab_mm.structures.DenseMaps`
    (:func:`~personlab_mm.decoders.personlab_map_specs`): ``heatmaps`` (B,
    K, H, W) and ``segmentation`` (B, 1, H, W) (logits from :meth:`forward`,
    probabilities from :meth:`predict_maps`), ``short_offsets``,
    ``long_offsets`` (B, K, 2, H, W), ``mid_offsets`` (B, E, 2, H, W) in
    input pixels. :meth:`predict` decodes people and masks (MMPose's
    bottom-up contract; ``test_cfg``: :class:`~..decoders.PersonLabDecoder`).

    Args:
        in_channels (int): Channels of the main feature map.
        decoder (dict): :class:`PersonLabCodec` config: the keypoint set,
            kinematic tree, disk radius and output stride.
        output_stride (int, optional): Stride of the feature maps; defaults
            to the codec's. Used to convert offsets to grid positions.
        feat_index (int): Index of the main features in the backbone/neck
            output tuple. Defaults to -1 (last).
        intermediate_in_channels (int, optional): Channels of the
            intermediate features; ``None`` disables the second branch.
        intermediate_feat_index (int): Index of the intermediate features.
            Defaults to -2.
        offset_scale (float): Offsets are predicted in units of this many
            pixels. Defaults to 32 (the disk radius).
        mid_refine_steps (int): Eq. 2 steps. Defaults to 2.
        long_self_refine_steps (int): Eq. 5 steps with long offsets.
            Defaults to 2.
        long_short_refine_steps (int): Eq. 5 steps with short offsets.
            Defaults to 2.
        heatmap_loss, segmentation_loss, short_offset_loss, mid_offset_loss,
        long_offset_loss (dict): Loss configs; defaults use the paper
            weights (4, 2, 1, 1/4, 1/8) and ``R = 32``.
        intermediate_loss_weight (float): Multiplier of the intermediate
            branch's losses. Defaults to 1.
        init_cfg (dict, optional): Initialisation config.
    """

    #: What a subclass changes: prediction layers, losses, maps, decoder.
    predictor_class = PersonLabPredictor
    #: (loss name, output field, target key, weight key) of each loss
    loss_terms: Tuple[Tuple[str, str, str, str], ...] = (
        ('heatmap', 'heatmaps', 'heatmaps', 'heatmap_weights'),
        ('segmentation', 'segmentation', 'segmentation',
         'segmentation_weights'),
        ('short', 'short_offsets', 'short_offsets', 'short_weights'),
        ('mid', 'mid_offsets', 'mid_offsets', 'mid_weights'),
        ('long', 'long_offsets', 'long_offsets', 'long_weights'))
    map_specs = staticmethod(personlab_map_specs)
    decoder_class = PersonLabDecoder

    def __init__(self,
                 in_channels: int,
                 decoder: ConfigType,
                 output_stride: int = None,
                 feat_index: int = -1,
                 intermediate_in_channels: int = None,
                 intermediate_feat_index: int = -2,
                 offset_scale: float = 32.,
                 mid_refine_steps: int = 2,
                 long_self_refine_steps: int = 2,
                 long_short_refine_steps: int = 2,
                 heatmap_loss: ConfigType = dict(
                     type='PersonLabLogisticLoss', loss_weight=4.),
                 segmentation_loss: ConfigType = dict(
                     type='PersonLabLogisticLoss', loss_weight=2.),
                 short_offset_loss: ConfigType = dict(
                     type='PersonLabOffsetLoss', radius=32., loss_weight=1.),
                 mid_offset_loss: ConfigType = dict(
                     type='PersonLabOffsetLoss', radius=32.,
                     loss_weight=0.25),
                 long_offset_loss: ConfigType = dict(
                     type='PersonLabOffsetLoss', radius=32.,
                     loss_weight=0.125),
                 intermediate_loss_weight: float = 1.,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg)
        self.decoder = build_in_mmpose_scope(KEYPOINT_CODECS, decoder)
        self.keypoints = self.decoder.keypoints
        self.output_stride = int(output_stride or self.decoder.output_stride)
        self.feat_index = feat_index
        self.intermediate_feat_index = intermediate_feat_index
        self.mid_refine_steps = mid_refine_steps
        self.long_self_refine_steps = long_self_refine_steps
        self.long_short_refine_steps = long_short_refine_steps
        self.intermediate_loss_weight = intermediate_loss_weight
        self.register_buffer(
            'edge_targets', torch.as_tensor(self.keypoints.edge_targets),
            persistent=False)
        self.raw_specs = self.map_specs(self.keypoints, logits=True)
        self.specs = self.map_specs(self.keypoints)
        self._decoders: Dict[tuple, PersonLabDecoder] = {}

        K, E = self.keypoints.num_keypoints, self.keypoints.num_edges
        self.predictor = self.predictor_class(in_channels, K, E, offset_scale)
        self.intermediate_predictor = None
        if intermediate_in_channels is not None:
            self.intermediate_predictor = self.predictor_class(
                intermediate_in_channels, K, E, offset_scale)
        self.loss_module = nn.ModuleDict({
            name: build_in_mmpose_scope(MODELS, cfg)
            for name, cfg in (('heatmap', heatmap_loss),
                              ('segmentation', segmentation_loss),
                              ('short', short_offset_loss),
                              ('mid', mid_offset_loss),
                              ('long', long_offset_loss))
        })

    # --------------------------------------------------------------- forward
    def refine(self, raw: Tuple[Tensor, ...]) -> DenseMaps:
        """Eq. 2 and Eq. 5 on raw predictor outputs.

        Args:
            raw (tuple): ``(heatmaps, short, mid, long, segmentation)`` as
                returned by :class:`PersonLabPredictor`.

        Returns:
            DenseMaps: logits and refined offsets (see the class
            docstring).
        """
        heatmaps, short, mid, long, seg = raw
        B, _, H, W = short.shape
        K, E = self.keypoints.num_keypoints, self.keypoints.num_edges
        fields = short.view(B, K, 2, H, W)
        mid = refine_mid_offsets(
            mid.view(B, E, 2, H, W), fields, self.edge_targets,
            self.output_stride, self.mid_refine_steps)
        long = refine_long_offsets(
            long.view(B, K, 2, H, W), fields, self.output_stride,
            self.long_self_refine_steps, self.long_short_refine_steps)
        # a view of its own for the loss: the gradients of the loss and of
        # the refinement then add up at ``short`` in a fixed order
        return DenseMaps(
            dict(heatmaps=heatmaps, short_offsets=short.view(B, K, 2, H, W),
                 mid_offsets=mid, long_offsets=long, segmentation=seg),
            self.raw_specs, self.output_stride)

    @staticmethod
    def _select(feats: Sequence[Tensor], index: int) -> Tensor:
        return feats if isinstance(feats, Tensor) else feats[index]

    def forward(self, feats: Sequence[Tensor]) -> DenseMaps:
        """Main-branch outputs (logits, refined offsets).

        Args:
            feats (Sequence[Tensor]): Backbone/neck outputs; the main
                features are ``feats[feat_index]`` of shape (B, C, H, W).
        """
        return self.refine(self.predictor(self._select(feats,
                                                       self.feat_index)))

    def forward_train(self,
                      feats: Sequence[Tensor]) -> List[Tuple[str, DenseMaps]]:
        """Outputs of every branch trained: main and (optional)
        intermediate, the latter resized to the main grid if needed."""
        main_feat = self._select(feats, self.feat_index)
        branches = [('', self.refine(self.predictor(main_feat)))]
        if self.intermediate_predictor is not None:
            inter = self._select(feats, self.intermediate_feat_index)
            if inter.shape[-2:] != main_feat.shape[-2:]:
                inter = F.interpolate(
                    inter, size=main_feat.shape[-2:], mode='bilinear',
                    align_corners=True)
            branches.append(('inter_',
                             self.refine(self.intermediate_predictor(inter))))
        return branches

    # ------------------------------------------------------------------ loss
    @property
    def target_keys(self) -> Tuple[str, ...]:
        """The ``gt_fields`` keys :attr:`loss_terms` read."""
        return tuple(dict.fromkeys(k for _, _, target, weight in
                                   self.loss_terms for k in (target, weight)))

    def _stack_targets(self, batch_data_samples: OptSampleList
                       ) -> Dict[str, Tensor]:
        targets = {}
        for key in self.target_keys:
            try:
                targets[key] = torch.stack(
                    [d.gt_fields.get(key) for d in batch_data_samples])
            except (AttributeError, TypeError) as e:
                raise KeyError(
                    f'{type(self).__name__}.loss needs gt_fields.{key}: add '
                    'GeneratePersonLabTargets with the head\'s codec to the '
                    'training pipeline') from e
        return targets

    def loss(self,
             feats: Sequence[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> Dict[str, Tensor]:
        """Weighted PersonLab losses of every branch.

        Returns:
            dict: ``loss/heatmap``, ``loss/segmentation``, ``loss/short``,
            ``loss/mid``, ``loss/long`` and, with the intermediate branch,
            the same keys prefixed ``inter_``.
        """
        t = self._stack_targets(batch_data_samples)
        losses = dict()
        for prefix, out in self.forward_train(feats):
            if out.grid_hw != tuple(t['heatmaps'].shape[-2:]):
                raise ValueError(
                    f'PersonLabHead: network output grid {out.grid_hw} '
                    'differs from the target grid '
                    f"{tuple(t['heatmaps'].shape[-2:])}; check the codec "
                    'input_size/output_stride against the backbone strides '
                    'and dilations')
            w = 1. if not prefix else self.intermediate_loss_weight
            losses.update({
                f'loss/{prefix}{name}': w * value
                for name, value in self._branch_losses(out, t).items()
            })
        return losses

    def _branch_losses(self, out: DenseMaps,
                       t: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """One branch's losses by name (:attr:`loss_terms`)."""
        return {
            name: self.loss_module[name](out[output], t[target], t[weight])
            for name, output, target, weight in self.loss_terms
        }

    # --------------------------------------------------------------- predict
    def predict_maps(self, feats: Sequence[Tensor]) -> DenseMaps:
        """Decoding-ready maps of the main branch, in float32:
        probabilities for heatmaps and segmentation, offsets in input
        pixels, at the head's current ``output_stride``."""
        out = self.forward(feats)
        probs = {
            name: t.float().sigmoid()
            if self.raw_specs[name].kind == 'logits' else t.float()
            for name, t in out.items()
        }
        return DenseMaps(self._decoded_fields(probs), self.specs, out.stride)

    def _decoded_fields(self, maps: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The maps the decoder reads (probabilities, offsets), by field
        name, from all the outputs."""
        return maps

    def fused_maps(self, feats, batch_data_samples: OptSampleList,
                   test_cfg: ConfigType) -> DenseMaps:
        """Maps of every test scale and flip, fused on the grid of the
        input (MMPose's nesting of ``feats``: with ``flip_test``, ``[feats,
        feats_of_the_flipped_input]``; with ``test_cfg.multiscale``, one
        such entry per input of :func:`~..utils.tta.pyramid_sizes`)."""
        if test_cfg.get('multiscale_test', False):
            raise ValueError(
                "PersonLabHead: MMPose's multiscale_test (aug_scales from the "
                'pipeline) is not supported; use PersonLabEstimator with '
                'test_cfg.multiscale=[longest sides]')
        try:
            return fuse_test_time_maps(
                self.predict_maps, feats,
                tuple(batch_data_samples[0].metainfo['batch_input_shape']),
                test_cfg.get('flip_test', False), test_cfg.get('multiscale'),
                self.output_stride)
        except ValueError as error:  # feature nesting against the sizes
            raise ValueError(f'{type(self).__name__}: {error}') from None

    def predict(self,
                feats,
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """People with keypoints, scores, boxes and masks per image.

        Args:
            feats: Backbone features, nested as :meth:`fused_maps` says.
            batch_data_samples (List[PoseDataSample]): With ``input_size``,
                ``input_center``, ``input_scale``, ``ori_shape`` and
                ``batch_input_shape`` metainfo.
            test_cfg (dict): ``flip_test``, ``multiscale``,
                ``decode_masks`` and the decoding settings.

        Returns:
            List[InstanceData]: see :meth:`decode`.
        """
        maps = self.fused_maps(feats, batch_data_samples, test_cfg)
        return self.decode(maps, batch_data_samples, test_cfg)

    @property
    def test_cfg_keys(self) -> Tuple[str, ...]:
        """The ``test_cfg`` keys :meth:`predict` reads."""
        return ('flip_test', 'multiscale', 'multiscale_test',
                'decode_masks') + self.decoder_class.setting_names()

    def decoder_for(self, test_cfg: ConfigType) -> PersonLabDecoder:
        """The decoder with the settings of ``test_cfg`` (built once per
        distinct settings)."""
        settings = {
            k: test_cfg[k]
            for k in self.decoder_class.setting_names() if k in test_cfg
        }
        key = tuple(sorted((k, repr(v)) for k, v in settings.items()))
        if key not in self._decoders:
            self._decoders[key] = self.decoder_class(
                **self._codec_decoder_arguments(), **settings)
        return self._decoders[key]

    def _codec_decoder_arguments(self) -> dict:
        """The decoder's arguments that come from the codec."""
        return dict(keypoints=self.keypoints, radius=self.decoder.radius)

    def decode(self,
               maps: DenseMaps,
               batch_data_samples: OptSampleList,
               test_cfg: ConfigType = {},
               timings: Dict[str, float] = None) -> List[InstanceData]:
        """Decode batched maps: people in input pixels (MMPose's
        convention; the estimator maps them to the image), masks on the
        image grid.

        Returns:
            List[InstanceData]: per image, best first: ``keypoints`` (N, K,
            2) and ``bboxes`` (N, 4, xyxy) in input pixels,
            ``keypoint_scores`` (N, K), ``bbox_scores`` and ``scores`` (N,)
            (the instance score), ``labels`` (N,) zeros, ``masks`` (N, h, w)
            bool on the image (``ori_shape``; empty masks when
            ``test_cfg.decode_masks`` is False).
        """
        return decode_instances(self.decoder_for(test_cfg), maps,
                                batch_data_samples,
                                test_cfg.get('decode_masks', True), timings)
