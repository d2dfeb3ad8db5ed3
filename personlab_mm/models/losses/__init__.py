from .discriminative_loss import DiscriminativeLoss
from .panoptic_deeplab_losses import WeightedBootstrappedCrossEntropyLoss
from .personlab_losses import PersonLabLogisticLoss, PersonLabOffsetLoss
from .poseplusseg_losses import PosePlusSegRefineLoss

__all__ = [
    'DiscriminativeLoss', 'PersonLabLogisticLoss', 'PersonLabOffsetLoss',
    'PosePlusSegRefineLoss', 'WeightedBootstrappedCrossEntropyLoss'
]
