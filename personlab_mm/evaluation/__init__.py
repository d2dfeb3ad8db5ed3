from .segm_metric import PersonSegmMetric

__all__ = ['PersonSegmMetric']
