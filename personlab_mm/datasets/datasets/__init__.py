from .coco_dataset import AnnotationError, PersonLabCocoDataset
from .synthetic_dataset import PersonLabSyntheticDataset

__all__ = [
    'AnnotationError', 'PersonLabCocoDataset', 'PersonLabSyntheticDataset'
]
