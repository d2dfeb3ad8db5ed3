from .personlab_head import PersonLabHead, PersonLabOutputs, PersonLabPredictor

__all__ = ['PersonLabHead', 'PersonLabOutputs', 'PersonLabPredictor']
