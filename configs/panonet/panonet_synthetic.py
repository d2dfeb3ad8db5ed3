"""PanoNet on the embedded synthetic panoptic set: a small model that
trains on a 2-core CPU in minutes (``mim train personlab_mm
panonet_synthetic.py``).

What is the paper's (Chen, Wang, Hebert 2020): two independent ICNet
branches (MMSegmentation's ``ICNet`` + ``ICNeck``), the instance branch on
RGB + normalised x, y coordinates; per cascade scale (1/16, 1/8, 1/4,
lambda 0.16, 0.4, 1) semantic softmax cross-entropy and the
discriminative loss on a 12-D embedding (delta_v 0.25, delta_d 1,
delta_r 6; alpha 1, beta 1, gamma 0.1); class-wise mean-shift with bin
seeding at test time.

Differences, all for speed on a CPU: a quarter-width ResNet-18-D8 inside
each ICNet (``base_channels=16``; layer channels 32 / 128, PSP 64,
branch outputs 16 / 32 / 32, neck and classifiers 32 channels), trained
from scratch in ONE stage with the coordinates from the start (the
paper's two stages are ``panonet_synthetic_stage1.py`` and
``panonet_synthetic_stage2.py``); random resize (0.75-1.25) + 225x225
crops + flips at batch 8; Adam lr 2e-3 with a 50-step warm-up and a
poly decay (the paper: Adadelta 0.003), 1500 iterations; stuff segments
under 64 px become void. Mean-shift bandwidths: 0.75 for person, ball and
box, as ``tools/analysis/panonet_bandwidth.py`` found them on 16 training
images with this config's 1500-iteration checkpoint (the paper's
procedure: from delta_v = 0.25 up; per-class PQ of 0.71 / 0.97 / 0.97 at
0.75 against 0.37 / 0.79 / 0.69 at 0.5).

Choices the paper leaves open are listed in
``panonet_icnet_cityscapes_stage1.py`` and
:class:`~personlab_mm.decoders.PanoNetDecoder` (instance score = mean
class probability); here clusters under 100 px (0.15 % of these 256 px
images) join the nearest instance of their class: the slivers where the
stride-4 embedding and the pixel-accurate semantic boundary disagree
(perfect embeddings: PQ 0.955 with 100, 0.869 with 10).

    mim train personlab_mm panonet_synthetic.py
    mim test personlab_mm panonet_synthetic.py \
        -C work_dirs/panonet_synthetic/iter_1500.pth --show-dir vis
"""
_base_ = [
    '../_base_/det_runtime.py', '../_base_/datasets/synthetic_panoptic.py'
]

crop_size = (225, 225)
num_things, num_stuff = 3, 3
norm_cfg = dict(type='BN', requires_grad=True)
icnet = dict(
    type='mmseg.ICNet',
    in_channels=3,
    backbone_cfg=dict(
        type='mmseg.ResNetV1c',
        in_channels=3,
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    layer_channels=(32, 128),
    light_branch_middle_channels=16,
    psp_out_channels=64,
    out_channels=(16, 32, 32),
    norm_cfg=norm_cfg,
    align_corners=False)
neck = dict(
    type='mmseg.ICNeck',
    in_channels=(16, 32, 32),
    out_channels=32,
    norm_cfg=norm_cfg,
    align_corners=False)
model = dict(
    type='PanoNet',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    semantic_backbone=icnet,
    semantic_neck=neck,
    instance_backbone=dict(
        icnet, in_channels=5,
        backbone_cfg=dict(icnet['backbone_cfg'], in_channels=5)),
    instance_neck=neck,
    coordinates=True,
    head=dict(
        type='PanoNetHead',
        in_channels=32,
        num_things_classes=num_things,
        num_stuff_classes=num_stuff,
        feature_strides=(16, 8, 8),
        output_strides=(16, 8, 4),
        scale_weights=(0.16, 0.4, 1.0),
        channels=32,
        embedding_dims=12,
        norm_cfg=norm_cfg,
        loss_semantic=dict(
            type='CrossEntropyLoss', use_sigmoid=False, ignore_index=255,
            avg_non_ignore=True),
        loss_embedding=dict(
            type='DiscriminativeLoss', delta_v=0.25, delta_d=1.0,
            delta_r=6.0, alpha=1.0, beta=1.0, gamma=0.1),
        test_cfg=dict(
            bandwidth=[0.75, 0.75, 0.75], min_instance_area=100,
            stuff_area=64)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='LoadCheckedPanopticAnnotations',
        with_bbox=True,
        with_label=True,
        with_mask=True,
        with_seg=True),
    dict(
        type='RandomResize',
        scale=(256, 256),
        ratio_range=(0.75, 1.25),
        keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_size=crop_size,
        crop_type='absolute',
        allow_negative_crop=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),
    dict(
        type='LoadCheckedPanopticAnnotations',
        with_bbox=True,
        with_label=True,
        with_mask=True,
        with_seg=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 1500
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-3, weight_decay=0.),
    clip_grad=dict(max_norm=35., norm_type=2))
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
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=500, max_keep_ckpts=2))
log_processor = dict(window_size=20)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
