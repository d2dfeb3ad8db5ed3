"""PosePlusSeg's refine loss (paper Eq. 6)."""
from typing import Optional

import torch.nn as nn
from mmpose.registry import MODELS
from torch import Tensor

from .personlab_losses import weighted_mean


@MODELS.register_module()
class PosePlusSegRefineLoss(nn.Module):
    r"""Masked L1 loss between a refine network's probabilities and the
    targets (Eq. 6, :math:`L_{ref} = \frac{1}{N} \sum_n \|x_n - \hat x_n\|`).

    The paper averages over "all the regions in the image that have been
    annotated": here the positions with non-zero weight (the weights of the
    map being refined: no crowds, no people with too few keypoints).

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self,
                probs: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            probs (Tensor): (B, C, H, W) refined probabilities in [0, 1].
            target (Tensor): (B, C, H, W) targets in [0, 1].
            weight (Tensor, optional): Broadcastable to (B, C, H, W).

        Returns:
            Tensor: scalar loss.
        """
        loss = (probs.float() - target.float()).abs()
        return weighted_mean(loss, weight) * self.loss_weight
