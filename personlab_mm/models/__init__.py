from .heads import PersonLabHead, PosePlusSegHead
from .losses import (PersonLabLogisticLoss, PersonLabOffsetLoss,
                     PosePlusSegRefineLoss)
from .pose_estimators import PersonLabEstimator

__all__ = [
    'PersonLabHead', 'PosePlusSegHead', 'PersonLabLogisticLoss',
    'PersonLabOffsetLoss', 'PosePlusSegRefineLoss', 'PersonLabEstimator'
]
