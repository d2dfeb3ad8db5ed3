from .personlab_head import PersonLabHead, PersonLabPredictor

__all__ = ['PersonLabHead', 'PersonLabPredictor']
