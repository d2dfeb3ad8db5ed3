"""PersonLab on the embedded synthetic people: a small model that trains on
a 2-core CPU in minutes.

The data (COCO format, 17 keypoints, polygon and RLE masks, overlapping
people, crowds and keypoint-less people) is generated on first use under
``data/personlab_synthetic/`` (relative to the working directory) by
``PersonLabSyntheticDataset``; nothing is downloaded.

Differences from the paper setup (``r101_coco.py``), all for speed on a CPU:
a half-width ResNet-18 trained from scratch (so batch norm trains), 257x257
crops, Adam instead of SGD, 600 iterations at batch 8, no Polyak averaging.
The PersonLab parts (targets, head, refinement, losses and their weights,
decoding) are the paper's. Evaluation (at the end of training, and with
``mim test``): longest side 257, COCO keypoint AP and person segm AP on the
32 synthetic val images.

    mim train personlab_mm r18_synthetic.py
    mim test personlab_mm r18_synthetic.py \
        -C work_dirs/r18_synthetic/iter_600.pth
"""
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['personlab_mm'], allow_failed_imports=False)

input_size = (257, 257)
codec = dict(
    type='PersonLabCodec', input_size=input_size, output_stride=16,
    radius=32.)

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=600, val_interval=600)
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),
    dict(type='MultiStepLR', milestones=[450], gamma=0.1, by_epoch=False),
]
auto_scale_lr = dict(base_batch_size=8)

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=2))
custom_hooks = [
    dict(type='SyncBuffersHook'),
    # checkpoints loadable with torch.load(weights_only=True)
    dict(type='SafeCheckpointHook'),
]
log_processor = dict(by_epoch=False, window_size=20)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)

model = dict(
    type='PersonLabEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(2, 3)),
    head=dict(
        type='PersonLabHead',
        in_channels=256,
        intermediate_in_channels=128,
        intermediate_feat_index=0,
        feat_index=1,
        decoder=codec),
    test_cfg=dict(output_stride=8, flip_test=False, multiscale=None),
)

dataset_type = 'PersonLabSyntheticDataset'
data_root = 'data/personlab_synthetic/'

train_pipeline = [
    dict(type='LoadImage'),
    dict(
        type='BottomupRandomAffine',
        input_size=input_size,
        shift_factor=0.2,
        scale_factor=(0.75, 1.5),
        scale_type='long',
        rotate_factor=0.,
        distribution='uniform'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='GeneratePersonLabTargets', encoder=codec,
        impute_keypoints=True),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        split='train',
        data_root=data_root,
        data_mode='bottomup',
        pipeline=train_pipeline))

val_pipeline = [
    dict(type='LoadImage'),
    dict(type='PersonLabResize', longest_side=257, size_divisor=8),
    dict(
        type='PackPoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape',
                   'input_size', 'input_center', 'input_scale',
                   'raw_ann_info')),
]
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
        data_mode='bottomup',
        test_mode=True,
        pipeline=val_pipeline))
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
