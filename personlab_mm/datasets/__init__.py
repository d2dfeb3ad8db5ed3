from .datasets import (AnnotationError, PersonLabCocoDataset,
                       PersonLabSyntheticDataset)
from .transforms import GeneratePersonLabTargets

__all__ = [
    'AnnotationError', 'PersonLabCocoDataset', 'PersonLabSyntheticDataset',
    'GeneratePersonLabTargets'
]
