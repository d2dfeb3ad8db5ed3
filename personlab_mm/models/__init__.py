from .heads import PersonLabHead
from .losses import PersonLabLogisticLoss, PersonLabOffsetLoss

__all__ = ['PersonLabHead', 'PersonLabLogisticLoss', 'PersonLabOffsetLoss']
