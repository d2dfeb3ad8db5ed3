from .personlab_losses import PersonLabLogisticLoss, PersonLabOffsetLoss

__all__ = ['PersonLabLogisticLoss', 'PersonLabOffsetLoss']
