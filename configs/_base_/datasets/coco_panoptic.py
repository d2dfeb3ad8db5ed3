"""COCO panoptic (80 things, 53 stuff) in MMDetection's layout
(``data/coco/annotations/panoptic_{train,val}2017.json`` and PNG folders,
images in ``{train,val}2017/``), read by ``CrowdAwareCocoPanopticDataset``
(crowd segments kept as ignored instances). Evaluated in one pass by
``CocoPanopticMetric`` (PQ), ``CocoMetric(metric='segm')`` (instance mask
AP on ``instances_val2017.json``) and ``SemSegMetric`` (mIoU). Pipelines
are set by the method configs, loading annotations with
``load_annotations``.
"""
dataset_type = 'CrowdAwareCocoPanopticDataset'
data_root = 'data/coco/'
load_annotations = dict(
    type='LoadCheckedPanopticAnnotations',
    with_bbox=True,
    with_label=True,
    with_mask=True,
    with_seg=True)
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(
            img='train2017/', seg='annotations/panoptic_train2017/'),
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=[]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        test_mode=True,
        pipeline=[]))
test_dataloader = val_dataloader
val_evaluator = [
    dict(
        type='CocoPanopticMetric',
        ann_file=data_root + 'annotations/panoptic_val2017.json',
        seg_prefix=data_root + 'annotations/panoptic_val2017/'),
    dict(
        type='CocoMetric',
        metric='segm',
        ann_file=data_root + 'annotations/instances_val2017.json'),
    dict(type='SemSegMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator
