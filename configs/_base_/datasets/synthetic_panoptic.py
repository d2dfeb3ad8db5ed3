"""The embedded synthetic panoptic set (COCO panoptic format): things
``person``, ``ball``, ``box`` (crowds of tiny people as ``iscrowd``
segments), stuff ``sky``, ``grass``, ``wall``, and void pixels; generated
on first use under ``data/synthetic_panoptic/`` (relative to the working
directory) by ``SyntheticPanopticDataset``: 256 train and 32 val images,
nothing downloaded. Evaluated in one pass by MMDetection's
``CocoPanopticMetric`` (PQ, SQ, RQ), ``CocoMetric(metric='segm')``
(instance mask AP on ``instances_val.json``, the same scenes as instance
annotations) and ``SemSegMetric`` (mIoU).

Pipelines are set by the method configs; annotations must be loaded with
``LoadCheckedPanopticAnnotations`` (crowd masks kept in
``ignored_instances``, bad files named).
"""
dataset_type = 'SyntheticPanopticDataset'
data_root = 'data/synthetic_panoptic/'

train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        type=dataset_type,
        split='train',
        data_root=data_root,
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=[]))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        split='val',
        data_root=data_root,
        test_mode=True,
        pipeline=[]))
test_dataloader = val_dataloader

val_evaluator = [
    dict(
        type='CocoPanopticMetric',
        ann_file=data_root + 'annotations/panoptic_val.json',
        seg_prefix=data_root + 'annotations/panoptic_val/'),
    dict(
        type='CocoMetric',
        metric='segm',
        ann_file=data_root + 'annotations/instances_val.json'),
    dict(type='SemSegMetric', iou_metrics=['mIoU']),
]
test_evaluator = val_evaluator
