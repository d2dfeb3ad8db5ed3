"""Runtime of this package's MMDetection-side configs (Panoptic-DeepLab,
and the other segmentation methods): MMDetection's default runtime plus
this package's components and the same training safety as the pose
configs (``default_runtime.py``).

Checkpoints: ``SafeCheckpointHook`` replaces MMEngine's ``CheckpointHook``
(atomic files, a clear error on a full disk, a checkpoint and a clean stop
on SIGTERM, ``--resume`` skipping unreadable checkpoints); a NaN/inf loss
term stops the run naming the term and iteration. Iteration-based logging.
Pictures: MMDetection's ``DetLocalVisualizer`` (panoptic segments and
instance masks) through ``mim test ... --show-dir DIR``."""
_base_ = ['mmdet::_base_/default_runtime.py']

custom_imports = dict(imports=['personlab_mm'], allow_failed_imports=False)

custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='NonFiniteLossHook', action='raise'),
]
default_hooks = dict(
    checkpoint=dict(
        type='SafeCheckpointHook', by_epoch=False,
        save_on_signals=('SIGTERM', )))
log_processor = dict(by_epoch=False)
