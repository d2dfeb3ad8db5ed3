from .personlab import PersonLabEstimator, PyramidFeatures

__all__ = ['PersonLabEstimator', 'PyramidFeatures']
