from .panonet_head import PANONET_FIELDS, PanoNetHead
from .panoptic_deeplab_head import PanopticDeepLabHead
from .personlab_head import PersonLabHead, PersonLabPredictor
from .poseplusseg_head import PosePlusSegHead, PosePlusSegPredictor, RefineNet

__all__ = [
    'PANONET_FIELDS', 'PanoNetHead', 'PanopticDeepLabHead',
    'PersonLabHead', 'PersonLabPredictor', 'PosePlusSegHead',
    'PosePlusSegPredictor', 'RefineNet'
]
