from .deeplab import ASPP, DeepLabDecoder, PredictionHead, upsample_to

__all__ = ['ASPP', 'DeepLabDecoder', 'PredictionHead', 'upsample_to']
