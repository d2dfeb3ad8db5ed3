from .atrous import (OutputStrideSwitch, resnet_output_stride,
                     resnet_output_stride_as, set_resnet_output_stride)
from .instances import decode_instances, people_to_instances
from .refine import refine_long_offsets, refine_mid_offsets
from .tta import average, flip_back, pyramid_sizes, rescale_to

__all__ = [
    'OutputStrideSwitch', 'resnet_output_stride', 'resnet_output_stride_as',
    'set_resnet_output_stride', 'decode_instances', 'people_to_instances',
    'refine_long_offsets', 'refine_mid_offsets', 'average', 'flip_back',
    'pyramid_sizes', 'rescale_to'
]
