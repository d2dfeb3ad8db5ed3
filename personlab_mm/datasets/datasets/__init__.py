from .coco_dataset import AnnotationError, PersonLabCocoDataset
from .loading_record import RecordsLoadingSample, describe_dead_workers
from .synthetic_dataset import PersonLabSyntheticDataset

__all__ = [
    'AnnotationError', 'PersonLabCocoDataset', 'PersonLabSyntheticDataset',
    'RecordsLoadingSample', 'describe_dead_workers'
]
