from .segm_metric import PersonSegmMetric
from .upper_bound import perfect_maps

__all__ = ['PersonSegmMetric', 'perfect_maps']
