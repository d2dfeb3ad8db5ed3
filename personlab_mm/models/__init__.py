from .heads import PanopticDeepLabHead, PersonLabHead, PosePlusSegHead
from .losses import (PersonLabLogisticLoss, PersonLabOffsetLoss,
                     PosePlusSegRefineLoss,
                     WeightedBootstrappedCrossEntropyLoss)
from .pose_estimators import PersonLabEstimator
from .segmentors import PanopticDeepLab

__all__ = [
    'PersonLabHead', 'PosePlusSegHead', 'PersonLabLogisticLoss',
    'PersonLabOffsetLoss', 'PosePlusSegRefineLoss', 'PersonLabEstimator',
    'PanopticDeepLabHead', 'WeightedBootstrappedCrossEntropyLoss',
    'PanopticDeepLab'
]
