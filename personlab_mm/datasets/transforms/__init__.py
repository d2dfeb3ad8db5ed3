from .generate_targets import GeneratePersonLabTargets, input_to_grid_affine
from .rasterize import SegmentationError, rasterize_segmentation

__all__ = [
    'GeneratePersonLabTargets', 'input_to_grid_affine', 'SegmentationError',
    'rasterize_segmentation'
]
