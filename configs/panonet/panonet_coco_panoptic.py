"""PanoNet on COCO panoptic (80 things, 53 stuff). The paper trains and
tests on Cityscapes only; this config carries its model
(``_base_/models/panonet_icnet.py``: two ICNet-R50 branches, coordinate
channels on the instance branch, 12-D embeddings, the paper's losses and
margins) to COCO with choices of ours: one training stage with the
coordinates from the start (``panonet_icnet_cityscapes.py`` shows the
paper's two stages), both branches from ImageNet weights (MMSegmentation's
``open-mmlab://resnet50_v1c``), images resized to 1024 px on the longest
side with random scale (0.5-1.5), 1024x1024 crops and flips; Adam (lr 1e-3,
poly) for 200k iterations at batch 16 (8 GPUs x 2); stuff segments under
4096 px become void (COCO's scale, as Panoptic-DeepLab's COCO value);
bandwidth 0.5 for every class until ``tools/analysis/panonet_bandwidth.py``
has searched them.

    mim train personlab_mm panonet_coco_panoptic.py --gpus 8 \
        --launcher pytorch
    mim test personlab_mm panonet_coco_panoptic.py \
        -C work_dirs/panonet_coco_panoptic/iter_200000.pth
"""
_base_ = [
    '../_base_/det_runtime.py', '../_base_/datasets/coco_panoptic.py',
    '../_base_/models/panonet_icnet.py'
]

crop_size = (1024, 1024)
imagenet = dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')
model = dict(
    semantic_backbone=dict(
        init_cfg=None, backbone_cfg=dict(init_cfg=imagenet)),
    instance_backbone=dict(
        init_cfg=None, backbone_cfg=dict(init_cfg=imagenet)),
    semantic_neck=dict(init_cfg=None),
    instance_neck=dict(init_cfg=None),
    head=dict(
        num_things_classes=80,
        num_stuff_classes=53,
        test_cfg=dict(bandwidth=0.5, stuff_area=4096)))

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
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 200000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.),
    clip_grad=dict(max_norm=35., norm_type=2))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.,
        begin=0,
        end=max_iters,
        by_epoch=False),
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(checkpoint=dict(interval=10000, max_keep_ckpts=3))
