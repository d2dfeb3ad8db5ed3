from .synthetic_dataset import PersonLabSyntheticDataset

__all__ = ['PersonLabSyntheticDataset']
