from .keypoint_set_hook import KeypointSetCheckHook, check_keypoint_set
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook

__all__ = [
    'KeypointSetCheckHook', 'check_keypoint_set', 'NonFiniteLossError',
    'NonFiniteLossHook'
]
