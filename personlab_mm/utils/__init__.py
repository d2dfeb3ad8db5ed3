from .checkpoint import (PortableHistoryBuffer, SafeCheckpointHook,
                         allow_mmengine_checkpoints,
                         mmengine_checkpoint_globals)

__all__ = [
    'PortableHistoryBuffer', 'SafeCheckpointHook',
    'allow_mmengine_checkpoints', 'mmengine_checkpoint_globals'
]
