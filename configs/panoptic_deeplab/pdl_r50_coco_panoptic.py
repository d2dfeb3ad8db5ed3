"""Panoptic-DeepLab, ResNet-50, COCO panoptic (80 things, 53 stuff), as
the paper trains it on COCO (Sec. 4): images resized to 1025 px on the
longest side with random scale (0.5-1.5), 1025x1025 crops, flips, Adam
(lr 1e-3, no weight decay) with a poly schedule, 200k iterations at batch
64 (8 GPUs x 8: ``--gpus 8 --launcher pytorch``; ``--auto-scale-lr`` for
other totals), output stride 16 in training and test, ASPP rates (6, 12,
18), semantic branch 256 channels, instance branch 128; stuff segments
under 4096 px become void (the paper's COCO value). Test: longest side
1025, one scale, no flip (the paper's best COCO numbers add flips and
scales 0.5-1.5).

Differences from the paper: an ImageNet ResNet-50 (MMDetection's
``ResNet``, torchvision weights) instead of Xception-71, as in detectron2's
and the paper's own ResNet-50 rows; BN (use SyncBN, ``model.backbone.
norm_cfg.type=SyncBN`` and the head's ``norm_cfg``, on several GPUs).

Choices the paper leaves open are documented in
``pdl_r18_synthetic.py`` and apply here unchanged. The data are MMDetection's
COCO panoptic layout (``data/coco/annotations/panoptic_{train,val}2017.json``
and PNG folders, ``{train,val}2017/``) read by
``CrowdAwareCocoPanopticDataset`` (crowd segments ignored by the centre
and offset losses); evaluation: PQ (``CocoPanopticMetric``), instance mask
AP of the by-product (``CocoMetric(segm)`` on ``instances_val2017.json``)
and mIoU (``SemSegMetric``) in one ``mim test``.

    mim train personlab_mm pdl_r50_coco_panoptic.py --gpus 8 \
        --launcher pytorch
    mim test personlab_mm pdl_r50_coco_panoptic.py \
        -C work_dirs/pdl_r50_coco_panoptic/iter_200000.pth
"""
_base_ = [
    '../_base_/det_runtime.py', '../_base_/datasets/coco_panoptic.py'
]

crop_size = (1025, 1025)
num_things, num_stuff = 80, 53
norm_cfg = dict(type='BN', requires_grad=True)

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
        depth=50,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(0, 1, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    head=dict(
        type='PanopticDeepLabHead',
        in_channels=(256, 512, 2048),
        num_things_classes=num_things,
        num_stuff_classes=num_stuff,
        aspp_channels=256,
        aspp_dilations=(6, 12, 18),
        aspp_dropout=0.1,
        project_channels=(32, 64),
        semantic_channels=256,
        instance_channels=128,
        instance_head_channels=32,
        norm_cfg=norm_cfg,
        loss_semantic=dict(
            type='WeightedBootstrappedCrossEntropyLoss',
            top_k_percent_pixels=0.2),
        loss_centre=dict(type='MSELoss', loss_weight=200.),
        loss_offset=dict(type='L1Loss', loss_weight=0.01),
        target_cfg=dict(
            sigma=8., small_instance_area=4096, small_instance_weight=3.),
        test_cfg=dict(
            threshold=0.1, nms_kernel=7, top_k=200, stuff_area=4096)),
    test_cfg=dict(output_stride=16))

load_annotations = {{_base_.load_annotations}}
train_pipeline = [
    dict(type='LoadImageFromFile'),
    load_annotations,
    dict(
        type='RandomResize',
        scale=crop_size,
        ratio_range=(0.5, 1.5),
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
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    load_annotations,
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 200000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.,
        begin=0,
        end=max_iters,
        by_epoch=False),
]
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(checkpoint=dict(interval=10000, max_keep_ckpts=3))
