"""The embedded synthetic people (COCO format, 17 keypoints, polygon and
RLE masks, overlapping people, crowds and keypoint-less people), generated
on first use under ``data/personlab_synthetic/`` (relative to the working
directory) by ``PersonLabSyntheticDataset``: 256 train and 32 val images,
nothing downloaded. Evaluation as on COCO: keypoint AP and person segm AP.
"""
dataset_type = 'PersonLabSyntheticDataset'
data_mode = 'bottomup'
data_root = 'data/personlab_synthetic/'

train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        split='train',
        data_root=data_root,
        data_mode=data_mode,
        pipeline=[]))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        split='val',
        data_root=data_root,
        data_mode=data_mode,
        test_mode=True,
        pipeline=[]))
test_dataloader = val_dataloader

val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/person_keypoints_val.json',
        score_mode='bbox',
        nms_mode='none'),
    dict(
        type='PersonSegmMetric',
        ann_file=data_root + 'annotations/person_keypoints_val.json'),
]
test_evaluator = val_evaluator
