"""PosePlusSeg's refine loss (paper Eq. 6)."""
from mmpose.registry import MODELS
from torch import Tensor

from .personlab_losses import MaskedMapLoss


@MODELS.register_module()
class PosePlusSegRefineLoss(MaskedMapLoss):
    r"""Masked L1 loss between a refine network's probabilities and the
    targets (Eq. 6, :math:`L_{ref} = \frac{1}{N} \sum_n \|x_n - \hat
    x_n\|`).

    The paper averages over "all the regions in the image that have been
    annotated": here the positions with non-zero weight (the weights of the
    map being refined: no crowds, no people with too few keypoints). Inputs
    are probabilities in [0, 1] (:class:`~personlab_mm.models.heads.
    RefineNet`), so the loss is exactly 0 at the targets.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.
    """

    def elementwise(self, probs: Tensor, target: Tensor) -> Tensor:
        return (probs - target).abs()
