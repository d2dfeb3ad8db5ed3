"""PersonLab's masked losses (paper Sec. 3.1-3.2)."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import Tensor


def weighted_mean(loss: Tensor, weight: Optional[Tensor]) -> Tensor:
    """Sum of ``loss * weight`` over the count of weighted elements.

    ``weight`` broadcasts against ``loss``; positions with weight 0 add
    nothing to the numerator and nothing to the count, so ignored pixels do
    not change the value. With no weighted element the loss is 0 (and stays
    connected to the graph).
    """
    if weight is None:
        return loss.mean()
    weight = weight.to(loss.dtype).expand_as(loss)
    return (loss * weight).sum() / weight.sum().clamp(min=1.)


class MaskedMapLoss(nn.Module):
    """A per-position loss on (B, C, H, W) maps, averaged over the
    positions whose weight is non-zero (:func:`weighted_mean`) and
    multiplied by ``loss_weight``; subclasses define :meth:`elementwise`.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        """(B, C, H, W) float32 losses of each position."""
        raise NotImplementedError

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): (B, C, H, W) predictions (what
                :meth:`elementwise` takes).
            target (Tensor): (B, C, H, W) targets in [0, 1].
            weight (Tensor, optional): Broadcastable to (B, C, H, W), e.g.
                (B, 1, H, W).

        Returns:
            Tensor: scalar loss.
        """
        loss = self.elementwise(pred.float(), target.float())
        return weighted_mean(loss, weight) * self.loss_weight


@MODELS.register_module()
class PersonLabLogisticLoss(MaskedMapLoss):
    """Masked logistic (binary cross-entropy) loss on logits.

    Used for the keypoint heatmaps and the person segmentation: the average
    logistic loss over the positions whose weight is non-zero (crowd regions
    and unannotated people have weight 0).

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.
    """

    def elementwise(self, logits: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            logits, target, reduction='none')


@MODELS.register_module()
class PersonLabOffsetLoss(nn.Module):
    """Masked L1 loss on 2-D offset fields, normalised by the disk radius.

    Per valid position the error is ``(|dx| + |dy|) / radius``; the loss is
    its average over positions with non-zero weight (the keypoint disks for
    short- and mid-range offsets, single-person mask pixels for long-range
    offsets).

    Args:
        radius (float): Normaliser ``R`` in input pixels. Defaults to 32.
        loss_weight (float): Multiplier of the loss. Defaults to 1.
    """

    def __init__(self, radius: float = 32., loss_weight: float = 1.) -> None:
        super().__init__()
        self.radius = radius
        self.loss_weight = loss_weight

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): (B, C, 2, H, W) offsets in input pixels, or
                (B, 2C, H, W) with ``(x_c, y_c)`` interleaved.
            target (Tensor): Target offsets, either layout.
            weight (Tensor, optional): (B, C, H, W) per-field weights.

        Returns:
            Tensor: scalar loss.
        """
        if pred.dim() == 4:
            B, C2, H, W = pred.shape
            pred = pred.view(B, C2 // 2, 2, H, W)
        err = (pred.float() - target.float().view(pred.shape)).abs()
        err = err.sum(dim=2) / self.radius
        return weighted_mean(err, weight) * self.loss_weight
