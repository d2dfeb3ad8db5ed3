from .datasets import PersonLabSyntheticDataset
from .transforms import GeneratePersonLabTargets

__all__ = ['PersonLabSyntheticDataset', 'GeneratePersonLabTargets']
