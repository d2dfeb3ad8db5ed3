from .base import BottomUpPanopticSegmentor
from .panonet import PanoNet, coordinate_channels
from .panoptic_deeplab import PanopticDeepLab

__all__ = [
    'BottomUpPanopticSegmentor', 'PanoNet', 'PanopticDeepLab',
    'coordinate_channels'
]
