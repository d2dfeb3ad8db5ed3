from .personlab import PersonLabCodec
from .poseplusseg import PosePlusSegCodec

__all__ = ['PersonLabCodec', 'PosePlusSegCodec']
