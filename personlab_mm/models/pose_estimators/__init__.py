from .personlab import PersonLabEstimator, image_to_input_affine

__all__ = ['PersonLabEstimator', 'image_to_input_affine']
