from .coco_dataset import AnnotationError, PersonLabCocoDataset
from .coco_panoptic import (CrowdAwareCocoPanopticDataset,
                            PanopticAnnotationError)
from .loading_record import RecordsLoadingSample, describe_dead_workers
from .synthetic_dataset import PersonLabSyntheticDataset
from .synthetic_panoptic_dataset import SyntheticPanopticDataset

__all__ = [
    'AnnotationError', 'PersonLabCocoDataset', 'PersonLabSyntheticDataset',
    'RecordsLoadingSample', 'describe_dead_workers',
    'CrowdAwareCocoPanopticDataset', 'PanopticAnnotationError',
    'SyntheticPanopticDataset'
]
