from .checkpoint import (PortableHistoryBuffer, allow_mmengine_checkpoints,
                         mmengine_checkpoint_globals)

__all__ = [
    'PortableHistoryBuffer', 'allow_mmengine_checkpoints',
    'mmengine_checkpoint_globals'
]
