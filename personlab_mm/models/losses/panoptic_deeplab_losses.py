"""Panoptic-DeepLab's semantic loss: weighted bootstrapped cross-entropy
(DeeperLab; Panoptic-DeepLab Sec. 3.1). The centre (MSE) and offset (L1)
losses are MMDetection's ``MSELoss`` and ``L1Loss`` with ``avg_factor``."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class WeightedBootstrappedCrossEntropyLoss(nn.Module):
    """Per-pixel cross-entropy times a per-pixel weight, averaged over the
    hardest ``top_k_percent_pixels`` of all pixels of the batch.

    Normalised as the reference implementations (DeeperLab, Panoptic-DeepLab
    in detectron2): void pixels have loss 0 but count among the pixels, so
    ``k = int(top_k_percent_pixels * B * H * W)``; the loss is the mean of
    the ``k`` largest weighted pixel losses (all pixels when the fraction
    is 1).

    Args:
        top_k_percent_pixels (float): Fraction in (0, 1] of pixels kept.
            Defaults to 0.2 (the reference's value).
        ignore_index (int): Void label. Defaults to 255.
        loss_weight (float): Multiplier. Defaults to 1.
    """

    def __init__(self,
                 top_k_percent_pixels: float = 0.2,
                 ignore_index: int = 255,
                 loss_weight: float = 1.) -> None:
        super().__init__()
        if not 0. < top_k_percent_pixels <= 1.:
            raise ValueError('top_k_percent_pixels must be in (0, 1], got '
                             f'{top_k_percent_pixels}')
        self.top_k_percent_pixels = top_k_percent_pixels
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight

    def forward(self,
                logits: Tensor,
                labels: Tensor,
                weights: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            logits (Tensor): (B, C, H, W) class logits.
            labels (Tensor): (B, H, W) long classes (``ignore_index``:
                void).
            weights (Tensor, optional): (B, H, W) per-pixel weights.

        Returns:
            Tensor: scalar loss.
        """
        pixel = F.cross_entropy(
            logits.float(), labels, ignore_index=self.ignore_index,
            reduction='none').reshape(-1)
        if weights is not None:
            pixel = pixel * weights.reshape(-1).to(pixel.dtype)
        if self.top_k_percent_pixels < 1.:
            k = max(1, int(self.top_k_percent_pixels * pixel.numel()))
            pixel = pixel.topk(k, sorted=False)[0]
        return self.loss_weight * pixel.mean()
