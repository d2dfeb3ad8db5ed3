from .personlab_head import PersonLabHead, PersonLabPredictor
from .poseplusseg_head import PosePlusSegHead, PosePlusSegPredictor, RefineNet

__all__ = [
    'PersonLabHead', 'PersonLabPredictor', 'PosePlusSegHead',
    'PosePlusSegPredictor', 'RefineNet'
]
