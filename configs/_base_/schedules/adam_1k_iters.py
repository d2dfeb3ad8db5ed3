"""A short schedule for small models on a CPU: Adam (lr 4e-3, linear
warm-up over 50 iterations, x0.1 at 850), 1000 iterations at batch 8,
gradient clipping at norm 35 (normal steps: norm 2-6 on
r18_synthetic.py)."""
_base_ = ['../default_runtime.py']

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=1000,
    val_interval=1000)
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=4e-3),
    clip_grad=dict(max_norm=35., norm_type=2))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),
    dict(type='MultiStepLR', milestones=[850], gamma=0.1, by_epoch=False),
]
auto_scale_lr = dict(base_batch_size=8)

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=500, max_keep_ckpts=2))
log_processor = dict(window_size=20)
