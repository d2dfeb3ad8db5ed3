"""PersonLab's schedule (paper Sec. 4.1): SGD, constant lr 1e-3, momentum
0.9, 1M iterations at batch 8 (8 GPUs x 1).

Not stated in the paper and chosen here: weight decay 1e-4 (the usual
ResNet/DeepLab setting); gradient clipping at norm 35 (robustness: caps
the update of a rare bad batch; r18_synthetic's normal gradient norm is
2-6, not yet measured for ResNet-101: see grad_norm in the log); bf16
autocast on GPUs (``AmpOptimWrapper``; on a machine without a GPU
``tools/train.py`` trains in float32 instead; ``--cfg-options
optim_wrapper.type=OptimWrapper``: float32 anywhere).
"""
_base_ = ['../default_runtime.py']

train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=1_000_000,
    val_interval=50_000)
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35., norm_type=2))
param_scheduler = []
auto_scale_lr = dict(base_batch_size=8)

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=50_000, max_keep_ckpts=3))
