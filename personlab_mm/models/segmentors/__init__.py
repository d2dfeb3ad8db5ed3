from .panoptic_deeplab import PanopticDeepLab

__all__ = ['PanopticDeepLab']
