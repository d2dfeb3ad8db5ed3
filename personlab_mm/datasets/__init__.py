from .datasets import (AnnotationError, PersonLabCocoDataset,
                       PersonLabSyntheticDataset, RecordsLoadingSample,
                       describe_dead_workers)
from .transforms import GeneratePersonLabTargets

__all__ = [
    'AnnotationError', 'PersonLabCocoDataset', 'PersonLabSyntheticDataset',
    'RecordsLoadingSample', 'describe_dead_workers',
    'GeneratePersonLabTargets'
]
