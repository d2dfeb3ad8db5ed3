from .personlab import PersonLabCodec

__all__ = ['PersonLabCodec']
