"""Runtime of every config in this package: MMPose's default runtime plus
this package's components, pictures with instance masks, hooks for safe
checkpoints and non-finite losses, and iteration-based logging.

Checkpoints: ``SafeCheckpointHook`` replaces MMEngine's ``CheckpointHook``
(same arguments): files are written atomically (a kill never leaves a cut
checkpoint or ``last_checkpoint``), a full disk fails naming the path and
the free space, and a SIGTERM (Slurm/Kubernetes preemption; with Slurm use
``#SBATCH --signal=TERM@120``) saves a checkpoint at the end of the current
iteration and ends the run cleanly; ``--resume`` continues bit for bit and
skips unreadable checkpoints. ``save_on_signals=()`` turns the SIGTERM
handling off."""
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['personlab_mm'], allow_failed_imports=False)

# pictures: instance masks under MMPose's skeletons and boxes, for
# `mim test ... --show-dir DIR`, tools/demo.py and MMPoseInferencer
visualizer = dict(type='PersonLabVisualizer', instance_score_thr=0.2)
custom_hooks = [
    dict(type='SyncBuffersHook'),
    # a head of K keypoints on a dataset of K' != K stops the run at once
    dict(type='KeypointSetCheckHook'),
    # a NaN/inf loss term stops the run naming the term and iteration
    # (action='skip' skips such steps instead)
    dict(type='NonFiniteLossHook', action='raise'),
]
default_hooks = dict(
    checkpoint=dict(
        type='SafeCheckpointHook', by_epoch=False,
        save_on_signals=('SIGTERM', )))
log_processor = dict(by_epoch=False)
