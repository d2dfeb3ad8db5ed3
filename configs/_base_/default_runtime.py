"""Runtime of every config in this package: MMPose's default runtime plus
this package's components, pictures with instance masks, hooks for safe
checkpoints and non-finite losses, and iteration-based logging."""
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['personlab_mm'], allow_failed_imports=False)

# pictures: instance masks under MMPose's skeletons and boxes, for
# `mim test ... --show-dir DIR`, tools/demo.py and MMPoseInferencer
visualizer = dict(type='PersonLabVisualizer', instance_score_thr=0.2)
custom_hooks = [
    dict(type='SyncBuffersHook'),
    # a head of K keypoints on a dataset of K' != K stops the run at once
    dict(type='KeypointSetCheckHook'),
    # checkpoints loadable with torch.load(weights_only=True)
    dict(type='SafeCheckpointHook'),
    # a NaN/inf loss term stops the run naming the term and iteration
    # (action='skip' skips such steps instead)
    dict(type='NonFiniteLossHook', action='raise'),
]
log_processor = dict(by_epoch=False)
