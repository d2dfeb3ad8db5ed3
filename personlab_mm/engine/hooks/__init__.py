from .keypoint_set_hook import KeypointSetCheckHook, check_keypoint_set
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = [
    'KeypointSetCheckHook', 'check_keypoint_set', 'NonFiniteLossError',
    'NonFiniteLossHook', 'SafeCheckpointHook'
]
