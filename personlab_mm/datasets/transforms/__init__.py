from .generate_targets import GeneratePersonLabTargets, input_to_grid_affine
from .rasterize import SegmentationError, rasterize_segmentation
from .resize import PersonLabResize, longest_side_geometry

__all__ = [
    'GeneratePersonLabTargets', 'input_to_grid_affine', 'SegmentationError',
    'rasterize_segmentation', 'PersonLabResize', 'longest_side_geometry'
]
