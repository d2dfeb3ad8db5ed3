from .heads import PersonLabHead
from .losses import PersonLabLogisticLoss, PersonLabOffsetLoss
from .pose_estimators import PersonLabEstimator

__all__ = [
    'PersonLabHead', 'PersonLabLogisticLoss', 'PersonLabOffsetLoss',
    'PersonLabEstimator'
]
