from .generate_targets import GeneratePersonLabTargets, input_to_grid_affine
from .panoptic_loading import LoadCheckedPanopticAnnotations
from .rasterize import (SegmentationError, rasterize_segmentation,
                        rasterize_segmentation_crop)
from .resize import PersonLabResize, longest_side_geometry

__all__ = [
    'GeneratePersonLabTargets', 'input_to_grid_affine', 'SegmentationError',
    'rasterize_segmentation', 'rasterize_segmentation_crop', 'PersonLabResize',
    'longest_side_geometry', 'LoadCheckedPanopticAnnotations'
]
