from .panoptic_deeplab_losses import WeightedBootstrappedCrossEntropyLoss
from .personlab_losses import PersonLabLogisticLoss, PersonLabOffsetLoss
from .poseplusseg_losses import PosePlusSegRefineLoss

__all__ = [
    'PersonLabLogisticLoss', 'PersonLabOffsetLoss', 'PosePlusSegRefineLoss',
    'WeightedBootstrappedCrossEntropyLoss'
]
