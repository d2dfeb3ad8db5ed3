"""PanoNet on the embedded synthetic panoptic set, the paper's two-stage
training (Sec. III-C), stage 1 of 2: the instance branch without the
coordinate channels, 750 iterations (half of ``panonet_synthetic.py``'s
one-stage schedule; everything else as there). Stage 2 is
``panonet_synthetic_stage2.py``.

    mim train personlab_mm panonet_synthetic_stage1.py
"""
_base_ = ['./panonet_synthetic.py']

model = dict(
    coordinates=False,
    instance_backbone=dict(in_channels=3, backbone_cfg=dict(in_channels=3)))

max_iters = 750
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.,
        begin=50,
        end=max_iters,
        by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
