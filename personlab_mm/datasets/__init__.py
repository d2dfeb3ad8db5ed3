from .datasets import (AnnotationError, CrowdAwareCocoPanopticDataset,
                       PanopticAnnotationError, PersonLabCocoDataset,
                       PersonLabSyntheticDataset, RecordsLoadingSample,
                       SyntheticPanopticDataset, describe_dead_workers)
from .transforms import (GeneratePersonLabTargets,
                         LoadCheckedPanopticAnnotations)

__all__ = [
    'AnnotationError', 'PersonLabCocoDataset', 'PersonLabSyntheticDataset',
    'RecordsLoadingSample', 'describe_dead_workers',
    'GeneratePersonLabTargets', 'CrowdAwareCocoPanopticDataset',
    'PanopticAnnotationError', 'SyntheticPanopticDataset',
    'LoadCheckedPanopticAnnotations'
]
