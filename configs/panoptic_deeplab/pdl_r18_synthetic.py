"""Panoptic-DeepLab on the embedded synthetic panoptic set: a small model
that trains on a 2-core CPU in minutes.

What is the paper's (Cheng et al., CVPR 2020): dual ASPP and dual decoder
(low-level features at strides 8 and 4, one 5x5 depthwise-separable conv
per upsampling stage), semantic / centre / offset predictions at stride 4,
weighted bootstrapped cross-entropy (hardest 20 % of pixels, weight 3 on
instances under 64x64 pixels), centre MSE (weight 200) on a Gaussian of
sigma 8 px, offset L1 (weight 0.01), Adam without weight decay and a poly
learning rate; post-processing: max-pool centre NMS (kernel 7, threshold
0.1, top 200), pixels to the nearest centre after their offset,
majority-vote class, instance score = centre x mean class probability.

Differences, all for speed on a CPU: a quarter-width ResNet-18
(``base_channels=16``) trained from scratch at output stride 16; narrower
branches (ASPP 64, semantic 64, instance 32, projections 16 / 32, head 16
channels); ASPP rates (2, 4, 6) instead of (6, 12, 18) (the stride-16
features of these ~225 px crops are 15 cells wide); random resize
(0.75-1.25) + 225x225 crops + flips at batch 8; lr 2e-3 with a 50-step
warm-up, 1500 iterations; stuff segments under 64 px become void (the
images are ~1/40 of a Cityscapes image; 2048 there).

Choices the paper leaves open (see also ``PanopticDeepLabHead`` and
``image_targets``): crowd segments keep their class in the semantic loss
and are ignored by the centre and offset losses (no Gaussian is drawn for
them); void pixels are ignored by every loss; the small-instance weight
uses each instance's area after augmentation; the centre Gaussian sits at
the rounded centre of mass, offsets point at the exact one; the semantic
top-k counts void pixels among all pixels (the reference's
normalisation); an instance's class is the majority vote of its pixels
(thing classes only, as only thing pixels are grouped).

    mim train personlab_mm pdl_r18_synthetic.py
    mim test personlab_mm pdl_r18_synthetic.py \
        -C work_dirs/pdl_r18_synthetic/iter_1500.pth --show-dir vis
"""
_base_ = [
    '../_base_/det_runtime.py', '../_base_/datasets/synthetic_panoptic.py'
]

crop_size = (225, 225)
num_things, num_stuff = 3, 3

model = dict(
    type='PanopticDeepLab',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=16),
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(0, 1, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False),
    head=dict(
        type='PanopticDeepLabHead',
        in_channels=(16, 32, 128),
        num_things_classes=num_things,
        num_stuff_classes=num_stuff,
        aspp_channels=64,
        aspp_dilations=(2, 4, 6),
        project_channels=(16, 32),
        semantic_channels=64,
        instance_channels=32,
        instance_head_channels=16,
        loss_semantic=dict(
            type='WeightedBootstrappedCrossEntropyLoss',
            top_k_percent_pixels=0.2),
        loss_centre=dict(type='MSELoss', loss_weight=200.),
        loss_offset=dict(type='L1Loss', loss_weight=0.01),
        target_cfg=dict(
            sigma=8., small_instance_area=4096, small_instance_weight=3.),
        test_cfg=dict(
            threshold=0.1, nms_kernel=7, top_k=200, stuff_area=64)),
    test_cfg=dict(output_stride=16))

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
