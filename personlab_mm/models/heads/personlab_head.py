"""PersonLab's multi-branch prediction head with recurrent refinement."""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import InstanceData
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.typing import (ConfigType, OptConfigType, OptSampleList,
                                 Predictions)
from torch import Tensor

from ...decoding import PersonLabMaps
from ...structures import COCO_TREE_EDGES, directed_edges, edge_arrays
from ...utils.registry import build_in_mmpose_scope
from ..utils import refine_long_offsets, refine_mid_offsets
from ..utils.tta import average, flip_back, unbatch


class PersonLabOutputs(NamedTuple):
    """The five PersonLab outputs on the output grid.

    Offsets are displacements in input pixels with ``(x, y)`` channels
    interleaved per field; mid- and long-range offsets are refined.

    Attributes:
        heatmaps (Tensor): (B, K, H, W) keypoint heatmap logits.
        short_offsets (Tensor): (B, 2K, H, W).
        mid_offsets (Tensor): (B, 2E, H, W), directed edges in codec order.
        long_offsets (Tensor): (B, 2K, H, W).
        segmentation (Tensor): (B, 1, H, W) person segmentation logits.
    """
    heatmaps: Tensor
    short_offsets: Tensor
    mid_offsets: Tensor
    long_offsets: Tensor
    segmentation: Tensor


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
        """Raw (unrefined) outputs, offsets in input pixels."""
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

    Args:
        in_channels (int): Channels of the main feature map.
        num_keypoints (int): K. Defaults to 17.
        tree_edges (Sequence[Tuple[int, int]]): Undirected kinematic tree;
            must match the codec's. Defaults to the COCO tree.
        output_stride (int, optional): Stride of the feature maps; defaults
            to the decoder's ``output_stride``. Used to convert offsets to
            grid positions during refinement.
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
        decoder (dict, optional): :class:`PersonLabCodec` config, used for
            prediction.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 num_keypoints: int = 17,
                 tree_edges: Sequence[Tuple[int, int]] = COCO_TREE_EDGES,
                 output_stride: Optional[int] = None,
                 feat_index: int = -1,
                 intermediate_in_channels: Optional[int] = None,
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
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg)
        self.num_keypoints = num_keypoints
        self.edges = directed_edges(tree_edges)
        self.decoder = build_in_mmpose_scope(KEYPOINT_CODECS,
                                             decoder) if decoder else None
        if self.decoder is not None:
            if list(self.decoder.edges) != self.edges or \
                    self.decoder.num_keypoints != num_keypoints:
                raise ValueError('PersonLabHead: num_keypoints/tree_edges '
                                 'differ from the decoder\'s')
            if output_stride is None:
                output_stride = self.decoder.output_stride
        if output_stride is None:
            raise ValueError('PersonLabHead needs output_stride (or a '
                             'decoder that has one)')
        self.output_stride = int(output_stride)
        self.feat_index = feat_index
        self.intermediate_feat_index = intermediate_feat_index
        self.mid_refine_steps = mid_refine_steps
        self.long_self_refine_steps = long_self_refine_steps
        self.long_short_refine_steps = long_short_refine_steps
        self.intermediate_loss_weight = intermediate_loss_weight
        _, targets = edge_arrays(self.edges)
        self.register_buffer(
            'edge_targets', torch.as_tensor(targets), persistent=False)

        E = len(self.edges)
        self.predictor = PersonLabPredictor(in_channels, num_keypoints, E,
                                            offset_scale)
        self.intermediate_predictor = None
        if intermediate_in_channels is not None:
            self.intermediate_predictor = PersonLabPredictor(
                intermediate_in_channels, num_keypoints, E, offset_scale)
        self.loss_module = nn.ModuleDict({
            name: build_in_mmpose_scope(MODELS, cfg)
            for name, cfg in (('heatmap', heatmap_loss),
                              ('segmentation', segmentation_loss),
                              ('short', short_offset_loss),
                              ('mid', mid_offset_loss),
                              ('long', long_offset_loss))
        })

    # --------------------------------------------------------------- forward
    def refine(self, raw: Tuple[Tensor, ...]) -> PersonLabOutputs:
        """Apply Eq. 2 and Eq. 5 to raw predictor outputs.

        Args:
            raw (tuple): ``(heatmaps, short, mid, long, segmentation)`` as
                returned by :class:`PersonLabPredictor`.

        Returns:
            PersonLabOutputs: with refined mid- and long-range offsets.
        """
        heatmaps, short, mid, long, seg = raw
        B, _, H, W = short.shape
        K, E = self.num_keypoints, len(self.edges)
        short5 = short.view(B, K, 2, H, W)
        mid = refine_mid_offsets(
            mid.view(B, E, 2, H, W), short5, self.edge_targets,
            self.output_stride, self.mid_refine_steps)
        long = refine_long_offsets(
            long.view(B, K, 2, H, W), short5, self.output_stride,
            self.long_self_refine_steps, self.long_short_refine_steps)
        return PersonLabOutputs(heatmaps, short, mid.reshape(B, 2 * E, H, W),
                                long.reshape(B, 2 * K, H, W), seg)

    def _select(self, feats: Sequence[Tensor], index: int) -> Tensor:
        if isinstance(feats, Tensor):
            return feats
        return feats[index]

    def forward(self, feats: Sequence[Tensor]) -> PersonLabOutputs:
        """Main-branch outputs (refined).

        Args:
            feats (Sequence[Tensor]): Backbone/neck outputs; the main
                features are ``feats[feat_index]`` of shape (B, C, H, W).

        Returns:
            PersonLabOutputs: see its docstring.
        """
        return self.refine(self.predictor(self._select(feats,
                                                       self.feat_index)))

    def forward_train(self, feats: Sequence[Tensor]
                      ) -> List[Tuple[str, PersonLabOutputs]]:
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
    @staticmethod
    def _stack_targets(batch_data_samples: OptSampleList
                       ) -> Dict[str, Tensor]:
        keys = ('heatmaps', 'heatmap_weights', 'short_offsets',
                'short_weights', 'mid_offsets', 'mid_weights',
                'long_offsets', 'long_weights', 'segmentation',
                'segmentation_weights')
        targets = {}
        for key in keys:
            try:
                targets[key] = torch.stack(
                    [d.gt_fields.get(key) for d in batch_data_samples])
            except (AttributeError, TypeError) as e:
                raise KeyError(
                    f'PersonLabHead.loss needs gt_fields.{key}: add '
                    'GeneratePersonLabTargets to the training pipeline') from e
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
            if out.heatmaps.shape[-2:] != t['heatmaps'].shape[-2:]:
                raise ValueError(
                    f'PersonLabHead: network output grid '
                    f'{tuple(out.heatmaps.shape[-2:])} differs from the '
                    f"target grid {tuple(t['heatmaps'].shape[-2:])}; check "
                    'the codec input_size/output_stride against the backbone '
                    'strides and dilations')
            w = 1. if not prefix else self.intermediate_loss_weight
            lm = self.loss_module
            losses[f'loss/{prefix}heatmap'] = w * lm['heatmap'](
                out.heatmaps, t['heatmaps'], t['heatmap_weights'])
            losses[f'loss/{prefix}segmentation'] = w * lm['segmentation'](
                out.segmentation, t['segmentation'],
                t['segmentation_weights'])
            losses[f'loss/{prefix}short'] = w * lm['short'](
                out.short_offsets, t['short_offsets'], t['short_weights'])
            losses[f'loss/{prefix}mid'] = w * lm['mid'](
                out.mid_offsets, t['mid_offsets'], t['mid_weights'])
            losses[f'loss/{prefix}long'] = w * lm['long'](
                out.long_offsets, t['long_offsets'], t['long_weights'])
        return losses

    # --------------------------------------------------------------- predict
    def predict_maps(self, feats: Sequence[Tensor]) -> PersonLabMaps:
        """Batched decoding-ready maps of the main branch: probabilities
        for heatmaps and segmentation, (B, C, 2, H, W) offsets in input
        pixels, at the head's current ``output_stride``."""
        out = self.forward(feats)
        B, _, H, W = out.heatmaps.shape
        K, E = self.num_keypoints, len(self.edges)
        return PersonLabMaps(
            heatmaps=out.heatmaps.float().sigmoid(),
            short_offsets=out.short_offsets.float().view(B, K, 2, H, W),
            mid_offsets=out.mid_offsets.float().view(B, E, 2, H, W),
            long_offsets=out.long_offsets.float().view(B, K, 2, H, W),
            segmentation=out.segmentation.float().sigmoid()[:, 0],
            stride=float(self.output_stride))

    def predict(self,
                feats,
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """People in input-space coordinates, for MMPose's generic
        ``BottomupPoseEstimator`` (which maps them back to the image).

        :class:`PersonLabEstimator` does more (test-time output stride,
        multi-scale, instance masks) and does not call this.

        Args:
            feats: Backbone features, or ``[feats, feats_of_flipped_input]``
                when ``test_cfg.flip_test`` is set (MMPose's convention).
            batch_data_samples (List[PoseDataSample]): Batch metainfo.
            test_cfg (dict): ``flip_test`` (bool).

        Returns:
            List[InstanceData]: ``keypoints`` (N, K, 2), ``keypoint_scores``
            (N, K) and ``bbox_scores`` (N,) per image.
        """
        if self.decoder is None:
            raise RuntimeError('PersonLabHead.predict needs a decoder (the '
                               'PersonLabCodec config)')

        if test_cfg.get('flip_test', False):
            width = batch_data_samples[0].metainfo['batch_input_shape'][1]
            maps = average([
                self.predict_maps(feats[0]),
                flip_back(
                    self.predict_maps(feats[1]), width,
                    self.decoder.flip_indices,
                    self.decoder.flip_edge_indices)
            ], self.decoder.edge_sources)
        else:
            maps = self.predict_maps(feats)
        preds = []
        for m in unbatch(maps):
            poses = self.decoder.decode(m)
            preds.append(
                InstanceData(
                    keypoints=poses['keypoints'].cpu().numpy(),
                    keypoint_scores=poses['keypoint_scores'].cpu().numpy(),
                    bbox_scores=poses['scores'].cpu().numpy()))
        return preds
