from .headline import headline_metrics
from .segm_metric import PersonSegmMetric

__all__ = ['PersonSegmMetric', 'headline_metrics']
