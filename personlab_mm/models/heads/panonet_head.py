"""PanoNet's prediction heads (paper Sec. III-A/B, Fig. 2): on each scale
of the ICNet cascade, semantic logits from the semantic branch's features
and a position-sensitive instance embedding from the instance branch's;
losses summed over the scales with the cascade label-guidance weights
(Eq. 1 and 6)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

from ...decoders.panonet import PanoNetDecoder
from ...decoders.panoptic_result import PanopticResult
from ...functional import resample_to_image
from ...structures import DenseMaps, FieldSpec
from ..layers.deeplab import upsample_to
from ..utils.panoptic_targets import instance_id_targets

#: The head's dense maps (at the finest output stride).
PANONET_FIELDS = dict(semantic=FieldSpec('logits'),
                      embedding=FieldSpec('embedding'))


def conv_classifier(in_channels: int, channels: int, out_channels: int,
                    dropout: float, norm_cfg: dict) -> nn.Sequential:
    """ICNet's per-scale classifier (MMSegmentation's ``FCNHead`` with one
    conv): 3x3 conv + norm + ReLU, dropout, 1x1 conv."""
    return nn.Sequential(
        ConvModule(in_channels, channels, 3, padding=1, norm_cfg=norm_cfg),
        nn.Dropout2d(dropout), nn.Conv2d(channels, out_channels, 1))


def labels_at_cells(labels: Tensor, stride: int, grid_hw: Sequence[int],
                    fill: int) -> Tensor:
    """Per-pixel labels read at the cells of a grid of ``stride`` (cell
    ``i`` at input pixel ``i * stride``; cells beyond the input: ``fill``).

    Args:
        labels (Tensor): (B, H, W) per input pixel.
        stride (int): Grid stride.
        grid_hw (Sequence[int]): ``(H_s, W_s)`` cells.
        fill (int): Label of cells outside the input.

    Returns:
        Tensor: (B, H_s, W_s).
    """
    sampled = labels[:, ::stride, ::stride][:, :grid_hw[0], :grid_hw[1]]
    h, w = sampled.shape[-2:]
    if (h, w) == tuple(grid_hw):
        return sampled
    out = sampled.new_full((labels.shape[0], *grid_hw), fill)
    out[:, :h, :w] = sampled
    return out


@MODELS.register_module()
class PanoNetHead(BaseModule):
    """Semantic classifiers and embedding heads on the scales of both
    branches.

    Each branch (ICNet + ICNeck, or a ResNet + FPN) yields one feature per
    cascade scale, in the order of ``feature_strides``; a scale whose
    ``output_stride`` is finer than its feature's is upsampled first
    (ICNet's last 2x, from the 1/8 fusion to the 1/4 guidance). Outputs
    (:meth:`forward`): per scale, semantic logits (B, C, H_s, W_s) and
    embeddings (B, D, H_s, W_s). Prediction uses the finest scale.

    Args:
        in_channels (int | Sequence[int]): Feature channels of both
            branches, one for all scales or one per scale.
        num_things_classes (int): Thing classes (labels first).
        num_stuff_classes (int): Stuff classes.
        feature_strides (Sequence[int]): Stride of each branch feature.
            Defaults to ICNeck's ``(16, 8, 8)``.
        output_strides (Sequence[int]): Stride each scale predicts at.
            Defaults to ``(16, 8, 4)`` (the paper's 1/16, 1/8, 1/4).
        scale_weights (Sequence[float]): lambda_t of each scale (Eq. 1, 6).
            Defaults to ``(0.16, 0.4, 1.0)``.
        channels (int): Classifier channels. Defaults to 128.
        embedding_dims (int): Embedding dimensions. Defaults to 12.
        dropout (float): Classifier dropout. Defaults to 0.1.
        norm_cfg (dict, optional): Normalisation (BN).
        loss_semantic (dict, optional): Per-scale semantic loss (softmax
            cross-entropy over labelled pixels, MMDetection's
            ``CrossEntropyLoss``).
        loss_embedding (dict, optional): Per-scale embedding loss
            (:class:`~personlab_mm.models.losses.DiscriminativeLoss` with the
            paper's margins and weights).
        ignore_index (int): Void label of the semantic targets.
        test_cfg (dict, optional): :class:`~personlab_mm.decoders.panonet.
            PanoNetDecoder` settings (``bandwidth``, ``min_instance_area``,
            ``max_instances``, ``stuff_area``, ``mean_shift_cfg``).
        init_cfg (dict, optional): Initialisation.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 num_things_classes: int,
                 num_stuff_classes: int,
                 feature_strides: Sequence[int] = (16, 8, 8),
                 output_strides: Sequence[int] = (16, 8, 4),
                 scale_weights: Sequence[float] = (0.16, 0.4, 1.0),
                 channels: int = 128,
                 embedding_dims: int = 12,
                 dropout: float = 0.1,
                 norm_cfg: Optional[dict] = None,
                 loss_semantic: Optional[dict] = None,
                 loss_embedding: Optional[dict] = None,
                 ignore_index: int = 255,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        n = len(feature_strides)
        if isinstance(in_channels, int):
            in_channels = (in_channels, ) * n
        if not len(in_channels) == len(output_strides) == len(
                scale_weights) == n:
            raise ValueError(
                'PanoNetHead: in_channels, feature_strides, output_strides '
                'and scale_weights need one entry per scale, got '
                f'{in_channels}, {feature_strides}, {output_strides}, '
                f'{scale_weights}')
        for fs, os_ in zip(feature_strides, output_strides):
            if fs % os_:
                raise ValueError(f'output stride {os_} must divide the '
                                 f'feature stride {fs}')
        norm_cfg = norm_cfg or dict(type='BN')
        self.num_classes = num_things_classes + num_stuff_classes
        self.feature_strides = tuple(feature_strides)
        self.output_strides = tuple(output_strides)
        self.scale_weights = tuple(float(w) for w in scale_weights)
        self.finest = min(range(n), key=lambda i: self.output_strides[i])
        self.stride = self.output_strides[self.finest]
        self.embedding_dims = embedding_dims
        self.ignore_index = ignore_index
        self.semantic_heads = nn.ModuleList(
            conv_classifier(c, channels, self.num_classes, dropout, norm_cfg)
            for c in in_channels)
        self.embedding_heads = nn.ModuleList(
            conv_classifier(c, channels, embedding_dims, dropout, norm_cfg)
            for c in in_channels)
        self.loss_semantic = MODELS.build(loss_semantic or dict(
            type='CrossEntropyLoss', use_sigmoid=False,
            ignore_index=ignore_index, avg_non_ignore=True))
        self.loss_embedding = MODELS.build(loss_embedding or dict(
            type='DiscriminativeLoss'))
        self.decoder = PanoNetDecoder(num_things_classes, self.num_classes,
                                      **(test_cfg or {}))

    # ------------------------------------------------------------ network
    def _at_output_stride(self, feat: Tensor, scale: int) -> Tensor:
        """A feature brought to its scale's output stride (bilinear on the
        corner-aligned grid: ``n`` cells of stride ``s`` span ``(n - 1)
        * s / t + 1`` cells of stride ``t``)."""
        factor = self.feature_strides[scale] // self.output_strides[scale]
        if factor == 1:
            return feat
        H, W = feat.shape[-2:]
        return upsample_to(feat, ((H - 1) * factor + 1, (W - 1) * factor + 1))

    def _check_features(self, feats: Sequence[Tensor], branch: str) -> None:
        if len(feats) != len(self.feature_strides):
            raise ValueError(f'PanoNetHead: the {branch} branch gave '
                             f'{len(feats)} features for '
                             f'{len(self.feature_strides)} scales')

    def forward(self, semantic_feats: Sequence[Tensor],
                instance_feats: Sequence[Tensor]
                ) -> Tuple[List[Tensor], List[Tensor]]:
        """Per scale (in ``feature_strides`` order): semantic logits (B,
        C, H_s, W_s) and embeddings (B, D, H_s, W_s)."""
        self._check_features(semantic_feats, 'semantic')
        self._check_features(instance_feats, 'instance')
        logits = [
            head(self._at_output_stride(f, s)) for s, (head, f) in enumerate(
                zip(self.semantic_heads, semantic_feats))
        ]
        embeddings = [
            head(self._at_output_stride(f, s)) for s, (head, f) in enumerate(
                zip(self.embedding_heads, instance_feats))
        ]
        return logits, embeddings

    def maps(self, semantic_feats: Sequence[Tensor],
             instance_feats: Sequence[Tensor]) -> DenseMaps:
        """The finest scale's outputs as named :class:`DenseMaps`."""
        self._check_features(semantic_feats, 'semantic')
        self._check_features(instance_feats, 'instance')
        s = self.finest
        logits = self.semantic_heads[s](
            self._at_output_stride(semantic_feats[s], s))
        embedding = self.embedding_heads[s](
            self._at_output_stride(instance_feats[s], s))
        return DenseMaps(dict(semantic=logits, embedding=embedding),
                         PANONET_FIELDS, self.stride)

    # ------------------------------------------------------------- losses
    def loss(self, semantic_feats: Sequence[Tensor],
             instance_feats: Sequence[Tensor],
             batch_data_samples: List) -> Dict[str, Tensor]:
        """``loss_semantic`` (Eq. 1) and ``loss_embedding`` (Eq. 6), each
        scale's loss weighted by ``scale_weights``.

        ICNet's cascade label guidance: every scale is supervised on its
        own output grid, by the labels at the input pixel under each cell
        (cell ``i`` of stride ``s`` at pixel ``i * s``; instances thinner
        than the stride may be missed at the coarse scales). Void, crowd,
        stuff and padding pixels are ignored by the embedding loss; void
        and padding by the semantic one."""
        input_hw = tuple(batch_data_samples[0].metainfo['batch_input_shape'])
        logits, embeddings = self.forward(semantic_feats, instance_feats)
        semantic, ids = instance_id_targets(batch_data_samples, input_hw,
                                            logits[0].device,
                                            self.ignore_index)
        loss_semantic = loss_embedding = 0.
        for s, weight in enumerate(self.scale_weights):
            stride = self.output_strides[s]
            grid_hw = logits[s].shape[-2:]
            loss_semantic = loss_semantic + weight * self.loss_semantic(
                logits[s].float(),
                labels_at_cells(semantic, stride, grid_hw, self.ignore_index))
            loss_embedding = loss_embedding + weight * self.loss_embedding(
                embeddings[s], labels_at_cells(ids, stride, grid_hw, 0))
        return dict(loss_semantic=loss_semantic,
                    loss_embedding=loss_embedding)

    # --------------------------------------------------------- prediction
    def image_maps(self, maps: DenseMaps, meta: dict,
                   rescale: bool) -> Tuple[Tensor, Tensor]:
        """One image's logits (C, h, w) and embeddings (D, h, w) at its
        pixels (:func:`~personlab_mm.functional.resample_to_image`):
        logits bilinear, embeddings from the nearest cell (bilinear
        blending would put the pixels between two instances halfway
        between their embeddings, where they form clusters of their
        own)."""
        at_pixels, _ = resample_to_image(
            maps['semantic'], self.stride, meta, rescale)
        embedding, _ = resample_to_image(
            maps['embedding'], self.stride, meta, rescale, nearest=True)
        return at_pixels[0], embedding[0]

    def decode(self, maps: DenseMaps, batch_data_samples: List,
               rescale: bool = True) -> List[PanopticResult]:
        """Panoptic, semantic and instance segmentation of each image from
        the batch's maps (non-finite values sanitised first: NaN
        embeddings become 0, infinite ones are clipped)."""
        maps = maps.sanitized()
        return [
            self.decoder(*self.image_maps(one, sample.metainfo, rescale))
            for one, sample in zip(maps.unbatch(), batch_data_samples)
        ]

    def predict(self, semantic_feats: Sequence[Tensor],
                instance_feats: Sequence[Tensor], batch_data_samples: List,
                rescale: bool = True) -> List[PanopticResult]:
        """:meth:`decode` of :meth:`maps`."""
        return self.decode(self.maps(semantic_feats, instance_feats),
                           batch_data_samples, rescale)
