"""COCO 2017 person keypoints and person masks, bottom-up, in MMPose's
layout::

    data/coco/annotations/person_keypoints_{train,val}2017.json
    data/coco/{train,val}2017/

Methods set the pipelines (``train_dataloader.dataset.pipeline``, ...).
Evaluation: COCO keypoint AP (MMPose's ``CocoMetric``; the instance score
is ``bbox_scores``, no extra NMS) and person segm AP (MMDetection's COCO
metric) in one run. Keypoint set: MMPose's COCO metainfo (the dataset's
default), which the methods' codecs name too.
"""
# CocoDataset that validates the annotation file and images at load time
dataset_type = 'PersonLabCocoDataset'
data_mode = 'bottomup'
data_root = 'data/coco/'

train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=[],
    ))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=[],
    ))
test_dataloader = val_dataloader

val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/person_keypoints_val2017.json',
        score_mode='bbox',  # the decoder's instance score
        nms_mode='none'),  # instance NMS is part of the decoding
    dict(
        type='PersonSegmMetric',
        ann_file=data_root + 'annotations/person_keypoints_val2017.json'),
]
test_evaluator = val_evaluator
