"""PosePlusSeg's head: PersonLab's branches plus the body heat map, the
mask offsets and the two refine networks."""
from typing import Dict, Tuple

import torch
import torch.nn as nn
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType
from torch import Tensor

from ...codecs import PosePlusSegCodec
from ...decoders import PosePlusSegDecoder, poseplusseg_map_specs
from ...structures import DenseMaps, FieldSpec
from ...utils.registry import build_in_mmpose_scope
from .personlab_head import PersonLabHead, PersonLabPredictor


class PosePlusSegPredictor(PersonLabPredictor):
    """PersonLab's 1x1 prediction layers plus the body heat map (1 logit)
    and the mask offsets (2, in units of ``offset_scale`` pixels)."""

    def __init__(self, in_channels: int, num_keypoints: int, num_edges: int,
                 offset_scale: float) -> None:
        super().__init__(in_channels, num_keypoints, num_edges, offset_scale)
        self.body = nn.Conv2d(in_channels, 1, 1)
        self.mask = nn.Conv2d(in_channels, 2, 1)

    def init_weights(self) -> None:
        super().init_weights()
        for conv in (self.body, self.mask):
            nn.init.normal_(conv.weight, std=0.001)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """PersonLab's raw outputs, then the body heat map logits (B, 1, H,
        W) and the mask offsets (B, 2, H, W) in input pixels."""
        return super().forward(x) + (self.body(x),
                                     self.mask(x) * self.offset_scale)


class RefineNet(nn.Module):
    """Eq. 5: a 1x1 convolution (stride 1) and a sigmoid on a map's
    logits, the probability that a pixel belongs to the map's class.

    Initialised to the identity (weight 1 on the own channel, bias 0), so
    training starts from the unrefined probabilities.

    Args:
        channels (int): Channels of the refined map.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(channels)[..., None, None])
            self.conv.bias.zero_()

    def forward(self, logits: Tensor) -> Tensor:
        """(B, C, H, W) logits -> (B, C, H, W) refined probabilities."""
        return self.conv(logits).sigmoid()


@MODELS.register_module()
class PosePlusSegHead(PersonLabHead):
    """PosePlusSeg head (Ahmad et al., AAAI 2022).

    :class:`PersonLabHead`'s branches and refinement (the SKHM is the
    keypoint heatmap; short-, mid- and long-range offsets serve the shared
    pose generator), plus:

    - a body heat map (BHM) branch, trained with a logistic loss on the
      codec's soft targets (``loss/body_heatmap``);
    - a mask offset branch, each person pixel's vector to its person's
      centroid, trained with an L1 loss divided by R at pixels one person
      owns (``loss/mask_offset``, Eq. 3);
    - two refine networks (:class:`RefineNet`, Eq. 5) on the SKHM and the
      segmentation logits, trained with the L1 refine loss (Eq. 6,
      ``loss/keypoint_refine``, ``loss/mask_refine``); their probabilities
      are the heatmaps and segmentation the decoder reads.

    Decoding is :class:`~personlab_mm.decoders.PosePlusSegDecoder` with the
    settings of ``test_cfg`` (PersonLab's plus ``body_boost``); the
    codec (``decoder``, a :class:`~personlab_mm.codecs.PosePlusSegCodec`)
    gives the centroid. Outputs are PersonLab's (keypoints, scores, boxes,
    masks), so the same metrics, visualizer, API and demo work.

    Args:
        body_heatmap_loss (dict): Defaults to a logistic loss of weight 2
            (the segmentation's: both are person-area maps).
        mask_offset_loss (dict): Defaults to an L1 loss divided by R = 32
            of weight 0.125 (the long-range offsets': vectors of the same
            length).
        keypoint_refine_loss, mask_refine_loss (dict): Defaults to
            :class:`PosePlusSegRefineLoss` of weight 1 (the paper gives
            none).
        **kwargs: :class:`PersonLabHead`'s arguments.
    """

    predictor_class = PosePlusSegPredictor
    loss_terms = PersonLabHead.loss_terms + (
        ('body_heatmap', 'body_heatmap', 'body_heatmap',
         'body_heatmap_weights'),
        ('mask_offset', 'mask_offsets', 'mask_offsets', 'mask_offset_weights'),
        ('keypoint_refine', 'heatmaps_refined', 'heatmaps', 'heatmap_weights'),
        ('mask_refine', 'segmentation_refined', 'segmentation',
         'segmentation_weights'))
    map_specs = staticmethod(poseplusseg_map_specs)
    decoder_class = PosePlusSegDecoder

    def __init__(self,
                 *args,
                 body_heatmap_loss: ConfigType = dict(
                     type='PersonLabLogisticLoss', loss_weight=2.),
                 mask_offset_loss: ConfigType = dict(
                     type='PersonLabOffsetLoss', radius=32.,
                     loss_weight=0.125),
                 keypoint_refine_loss: ConfigType = dict(
                     type='PosePlusSegRefineLoss', loss_weight=1.),
                 mask_refine_loss: ConfigType = dict(
                     type='PosePlusSegRefineLoss', loss_weight=1.),
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.decoder, PosePlusSegCodec):
            raise TypeError(
                'PosePlusSegHead needs decoder=dict(type=\'PosePlusSegCodec\''
                f', ...), got {type(self.decoder).__name__}')
        K = self.keypoints.num_keypoints
        self.keypoint_refine = RefineNet(K)
        self.mask_refine = RefineNet(1)
        specs = self.raw_specs
        self.raw_specs = dict(
            specs,
            heatmaps_refined=FieldSpec('probability',
                                       specs['heatmaps'].flip_channels),
            segmentation_refined=FieldSpec('probability'))
        self.loss_module.update({
            name: build_in_mmpose_scope(MODELS, cfg)
            for name, cfg in (('body_heatmap', body_heatmap_loss),
                              ('mask_offset', mask_offset_loss),
                              ('keypoint_refine', keypoint_refine_loss),
                              ('mask_refine', mask_refine_loss))
        })

    def refine(self, raw: Tuple[Tensor, ...]) -> DenseMaps:
        """PersonLab's refinement (Eq. 2, 5 of PersonLab) of the first five
        outputs, plus the body heat map logits, the mask offsets (B, 1, 2,
        H, W) and the refine networks' probabilities
        (``heatmaps_refined``, ``segmentation_refined``)."""
        maps = super().refine(raw[:5])
        body, mask = raw[5:]
        B, _, H, W = mask.shape
        return DenseMaps(
            dict(maps.items(),
                 body_heatmap=body,
                 mask_offsets=mask.view(B, 1, 2, H, W),
                 heatmaps_refined=self.keypoint_refine(maps['heatmaps']),
                 segmentation_refined=self.mask_refine(
                     maps['segmentation'])), self.raw_specs, maps.stride)

    def _decoded_fields(self, maps: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The refined SKHM and segmentation replace the raw ones."""
        fields = dict(maps)
        fields['heatmaps'] = fields.pop('heatmaps_refined')
        fields['segmentation'] = fields.pop('segmentation_refined')
        return fields

    def _codec_decoder_arguments(self) -> dict:
        return dict(super()._codec_decoder_arguments(),
                    centroid_index=self.decoder.centroid_index)
