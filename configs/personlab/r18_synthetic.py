"""PersonLab on the embedded synthetic people: a small model that trains on
a 2-core CPU in minutes.

Differences from the paper setup (``r101_coco.py``), all for speed on a CPU:
a quarter-width ResNet-18 (``base_channels=16``) trained from scratch (so
batch norm trains) at output stride 8 (atrous layers 3-4: on this data a
half-width ResNet-18 trained at stride 8 beat the same at stride 16 by
0.08-0.13 keypoint AP after 600 and 1200 iterations, measured on a GPU;
the quarter width makes a stride-8 iteration as cheap on a CPU as a
half-width stride-16 one), 257x257 crops, Adam (lr 4e-3) instead of SGD,
1000 iterations at batch 8 (``_base_/schedules/adam_1k_iters.py``), no
Polyak averaging. The PersonLab parts (targets, head, refinement, losses
and their weights, decoding) are the paper's. Evaluation (at the end of
training, and with ``mim test``): longest side 321 (the val images' own
size, 256-320 px: 0.505 keypoint AP after ``make demo``, against 0.471 at
257, 0.482 at 289 and 0.466 at 385), flip test, COCO keypoint AP and
person segm AP on the 32 synthetic val images
(``_base_/datasets/synthetic_person.py``). ``make demo`` runs both and
draws the val predictions (``--show-dir``).

    mim train personlab_mm r18_synthetic.py
    mim test personlab_mm r18_synthetic.py \
        -C work_dirs/r18_synthetic/iter_1000.pth --show-dir vis
"""
_base_ = [
    '../_base_/schedules/adam_1k_iters.py',
    '../_base_/datasets/synthetic_person.py'
]

input_size = (257, 257)
codec = dict(
    type='PersonLabCodec',
    input_size=input_size,
    output_stride=8,
    radius=32.,
    metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
    tree_edges='personlab_coco')

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
        base_channels=16,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(2, 3)),
    head=dict(
        type='PersonLabHead',
        in_channels=128,
        intermediate_in_channels=64,
        intermediate_feat_index=0,
        feat_index=1,
        decoder=codec),
    test_cfg=dict(output_stride=8, flip_test=True, multiscale=None),
)

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
    # mmpose's default meta keys without 'raw_ann_info': training reads the
    # targets, and deep-copying every polygon costs ~1 ms per image
    dict(
        type='PackPoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'category_id', 'crowd_index',
                   'ori_shape', 'img_shape', 'input_size', 'input_center',
                   'input_scale', 'flip', 'flip_direction', 'flip_indices',
                   'dataset_name')),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='PersonLabResize', longest_side=321, size_divisor=8),
    dict(
        type='PackPoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape',
                   'input_size', 'input_center', 'input_scale',
                   'raw_ann_info')),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
