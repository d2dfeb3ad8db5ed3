"""Training-loop components: hooks, and checkpoint files that survive
kills and full disks (:mod:`.checkpoint_io`)."""
from .checkpoint_io import (AtomicLocalBackend, CheckpointReadError,
                            CheckpointWriteError, atomic_write,
                            checkpoint_problem, find_resumable_checkpoint,
                            resolve_resume)
from .hooks import NonFiniteLossError, NonFiniteLossHook, SafeCheckpointHook

__all__ = [
    'AtomicLocalBackend', 'CheckpointReadError', 'CheckpointWriteError',
    'atomic_write', 'checkpoint_problem', 'find_resumable_checkpoint',
    'resolve_resume', 'NonFiniteLossError', 'NonFiniteLossHook',
    'SafeCheckpointHook'
]
