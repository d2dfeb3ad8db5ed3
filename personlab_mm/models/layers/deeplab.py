"""DeepLab building blocks: atrous spatial pyramid pooling (ASPP) whose
image pooling works for any input size, and the light-weight decoder of
Panoptic-DeepLab (one 5x5 depthwise-separable conv per upsampling stage,
DeepLabV3+ with an extra stride-8 stage)."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from torch import Tensor


def upsample_to(x: Tensor, size: Sequence[int]) -> Tensor:
    """(B, C, h, w) resized bilinearly to ``size`` on the package's
    corner-aligned grid (cell ``i`` of stride ``s`` at pixel ``i * s``)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear',
                         align_corners=True)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling (DeepLabV3).

    Branches: a 1x1 conv, one 3x3 conv per atrous rate, and image pooling
    (global average, 1x1 conv, broadcast back to the feature size: any
    input size works, there is no fixed pooling window); concatenated,
    projected by a 1x1 conv, dropout.

    Args:
        in_channels (int): Input channels.
        channels (int): Channels of every branch and of the output.
        dilations (Sequence[int]): Atrous rates at the training output
            stride. Defaults to ``(6, 12, 18)`` (output stride 16).
        dropout (float): Dropout after the projection. Defaults to 0.1.
        norm_cfg (dict): Normalisation. Defaults to BN.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 dilations: Sequence[int] = (6, 12, 18),
                 dropout: float = 0.1,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        self.dilations = tuple(dilations)
        self.convs = nn.ModuleList(
            [ConvModule(in_channels, channels, 1, norm_cfg=norm_cfg)] + [
                ConvModule(in_channels, channels, 3, padding=d, dilation=d,
                           norm_cfg=norm_cfg) for d in self.dilations
            ])
        self.pool_conv = ConvModule(in_channels, channels, 1,
                                    norm_cfg=norm_cfg)
        self.project = ConvModule((len(self.dilations) + 2) * channels,
                                  channels, 1, norm_cfg=norm_cfg)
        self.dropout = nn.Dropout(dropout)

    def set_rate_multiplier(self, multiplier: int) -> None:
        """Scale the atrous rates (2 when a backbone trained at output
        stride 16 runs at 8), on the same weights."""
        for module, rate in zip(self.convs[1:], self.dilations):
            conv = module.conv
            conv.dilation = (rate * multiplier, ) * 2
            conv.padding = (rate * multiplier, ) * 2

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, h, w) -> (B, channels, h, w)."""
        pooled = self.pool_conv(F.adaptive_avg_pool2d(x, 1))
        branches = [conv(x) for conv in self.convs]
        branches.append(pooled.expand(-1, -1, *x.shape[-2:]))
        return self.dropout(self.project(torch.cat(branches, dim=1)))


class DeepLabDecoder(nn.Module):
    """ASPP on the deepest feature, then one upsampling stage per
    low-level feature (deepest first): the low-level feature projected by a
    1x1 conv, concatenated with the upsampled features and fused by one 5x5
    depthwise-separable conv.

    Args:
        in_channels (Sequence[int]): Channels of the backbone features,
            shallowest first (e.g. strides 4, 8, 16: ``(256, 512, 2048)``
            for ResNet-50).
        aspp_channels (int): ASPP channels.
        project_channels (Sequence[int]): 1x1 projection channels of each
            low-level feature, shallowest first (``(32, 64)``).
        channels (int): Decoder channels (256 semantic, 128 instance).
        aspp_dilations (Sequence[int]): ASPP rates.
        aspp_dropout (float): ASPP dropout.
        norm_cfg (dict): Normalisation.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 aspp_channels: int,
                 project_channels: Sequence[int],
                 channels: int,
                 aspp_dilations: Sequence[int] = (6, 12, 18),
                 aspp_dropout: float = 0.1,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        if len(project_channels) != len(in_channels) - 1:
            raise ValueError(f'{len(in_channels) - 1} low-level features '
                             f'need as many project_channels, got '
                             f'{tuple(project_channels)}')
        self.aspp = ASPP(in_channels[-1], aspp_channels, aspp_dilations,
                         aspp_dropout, norm_cfg)
        self.projections = nn.ModuleList([
            ConvModule(c, p, 1, norm_cfg=norm_cfg)
            for c, p in zip(in_channels[:-1], project_channels)
        ])
        fuse_in = [aspp_channels] + [channels] * (len(in_channels) - 2)
        # stages run deepest first: fuse[i] consumes low-level feature
        # len(in_channels) - 2 - i
        self.fuses = nn.ModuleList([
            DepthwiseSeparableConvModule(
                fuse_in[i] + project_channels[-1 - i], channels, 5,
                padding=2, norm_cfg=norm_cfg)
            for i in range(len(in_channels) - 1)
        ])

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Features shallowest first -> (B, channels, H, W) at the
        shallowest feature's resolution."""
        x = self.aspp(feats[-1])
        for i, fuse in enumerate(self.fuses):
            level = len(feats) - 2 - i
            low = self.projections[level](feats[level])
            x = fuse(torch.cat([upsample_to(x, low.shape[-2:]), low], dim=1))
        return x


class PredictionHead(nn.Sequential):
    """One 5x5 depthwise-separable conv and a 1x1 conv to the outputs."""

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 out_channels: int,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__(
            DepthwiseSeparableConvModule(
                in_channels, channels, 5, padding=2,
                norm_cfg=norm_cfg or dict(type='BN')),
            nn.Conv2d(channels, out_channels, 1))
