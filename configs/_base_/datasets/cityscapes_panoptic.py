"""Cityscapes panoptic (8 things, 11 stuff, things first: the converter's
``THING_CLASSES`` and ``STUFF_CLASSES``), from ``gtFine`` converted once by
``tools/dataset_converters/cityscapes_panoptic.py --gtfine-dir
data/cityscapes/gtFine`` into ``gtFine/cityscapes_panoptic_{train,val}.json``
and PNG folders (plus ``cityscapes_instances_{train,val}.json`` for the
instance mask AP); images in ``leftImg8bit/{train,val}/<city>/``; car
groups and other crowd regions are crowd segments. Evaluation: PQ, COCO's
mask AP on the converter's instance json (the official Cityscapes AP
comes from cityscapesScripts and is not the same number) and mIoU.
"""
_base_ = ['./coco_panoptic.py']

thing_classes = ('person', 'rider', 'car', 'truck', 'bus', 'train',
                 'motorcycle', 'bicycle')
stuff_classes = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
                 'traffic light', 'traffic sign', 'vegetation', 'terrain',
                 'sky')
metainfo = dict(
    classes=thing_classes + stuff_classes,
    thing_classes=thing_classes,
    stuff_classes=stuff_classes)
data_root = 'data/cityscapes/'
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='gtFine/cityscapes_panoptic_train.json',
        data_prefix=dict(
            img='leftImg8bit/train/',
            seg='gtFine/cityscapes_panoptic_train/')))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='gtFine/cityscapes_panoptic_val.json',
        data_prefix=dict(
            img='leftImg8bit/val/', seg='gtFine/cityscapes_panoptic_val/')))
test_dataloader = val_dataloader
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
