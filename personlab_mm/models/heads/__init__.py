from .panoptic_deeplab_head import PanopticDeepLabHead
from .personlab_head import PersonLabHead, PersonLabPredictor
from .poseplusseg_head import PosePlusSegHead, PosePlusSegPredictor, RefineNet

__all__ = [
    'PanopticDeepLabHead',
    'PersonLabHead', 'PersonLabPredictor', 'PosePlusSegHead',
    'PosePlusSegPredictor', 'RefineNet'
]
