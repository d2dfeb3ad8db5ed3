"""Panoptic-DeepLab, ResNet-50, Cityscapes panoptic (8 things, 11 stuff),
as the paper trains its best Cityscapes model (Sec. 4, Table 1): whole
1025x2049 images as crops (random scale 0.5-2.0, flips), batch 32 (8 GPUs
x 4), Adam lr 1e-3 poly, 60k iterations, output stride 16, stuff segments
under 2048 px become void; test on the full 1024x2048 images at one scale
without flips. The paper's ablation crop 513x1025 costs 0.2 PQ (62.5 vs
62.7 in Table 1); set ``crop_size = (513, 1025)`` for smaller GPUs.

Data: Cityscapes ``gtFine`` converted once by
``tools/dataset_converters/cityscapes_panoptic.py --gtfine-dir
data/cityscapes/gtFine`` into ``gtFine/cityscapes_panoptic_{train,val}.json``
and PNG folders (plus ``cityscapes_instances_{train,val}.json`` for the
instance mask AP); images in ``leftImg8bit/{train,val}/<city>/``. The
19 evaluated classes, things first (the converter's ``THING_CLASSES`` and
``STUFF_CLASSES``); car groups and other crowd regions are crowd segments.
Everything else (model, losses, choices the paper leaves open) as
``pdl_r50_coco_panoptic.py``.

    python tools/dataset_converters/cityscapes_panoptic.py \
        --gtfine-dir data/cityscapes/gtFine
    mim train personlab_mm pdl_r50_cityscapes.py --gpus 8 --launcher pytorch
    mim test personlab_mm pdl_r50_cityscapes.py -C work_dirs/.../iter_60000.pth
"""
_base_ = ['./pdl_r50_coco_panoptic.py']

crop_size = (1025, 2049)
thing_classes = ('person', 'rider', 'car', 'truck', 'bus', 'train',
                 'motorcycle', 'bicycle')
stuff_classes = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
                 'traffic light', 'traffic sign', 'vegetation', 'terrain',
                 'sky')
metainfo = dict(
    classes=thing_classes + stuff_classes,
    thing_classes=thing_classes,
    stuff_classes=stuff_classes)

model = dict(
    head=dict(
        num_things_classes=len(thing_classes),
        num_stuff_classes=len(stuff_classes),
        test_cfg=dict(stuff_area=2048)))

data_root = 'data/cityscapes/'
load_annotations = {{_base_.load_annotations}}
train_pipeline = [
    dict(type='LoadImageFromFile'),
    load_annotations,
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
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
    load_annotations,
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='gtFine/cityscapes_panoptic_train.json',
        data_prefix=dict(
            img='leftImg8bit/train/', seg='gtFine/cityscapes_panoptic_train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='gtFine/cityscapes_panoptic_val.json',
        data_prefix=dict(
            img='leftImg8bit/val/', seg='gtFine/cityscapes_panoptic_val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# instance mask AP of the by-product: COCO's AP on the converter's
# instance json (the official Cityscapes AP comes from cityscapesScripts'
# own evaluation and is not the same number)
val_evaluator = [
    dict(
        type='CocoPanopticMetric',
        ann_file=data_root + 'gtFine/cityscapes_panoptic_val.json',
        seg_prefix=data_root + 'gtFine/cityscapes_panoptic_val/'),
    dict(
        type='CocoMetric',
        metric='segm',
        ann_file=data_root + 'gtFine/cityscapes_instances_val.json'),
    dict(type='SemSegMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator

max_iters = 60000
train_cfg = dict(max_iters=max_iters, val_interval=5000)
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.,
        begin=0,
        end=max_iters,
        by_epoch=False),
]
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(checkpoint=dict(interval=5000))
