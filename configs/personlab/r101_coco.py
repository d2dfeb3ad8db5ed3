"""PersonLab, ResNet-101, COCO 2017 person keypoints + person masks.

Paper setup (PersonLab, ECCV 2018, Sec. 4.1):

- train on the COCO 2017 train images that contain people (mmpose's
  bottom-up CocoDataset keeps exactly the images with person annotations),
  801x801 crops of a square box around the image scaled by U(0.5, 1.5),
  random translation, horizontal flips;
- ResNet-101 at output stride 16 (atrous last stage), ImageNet init, batch
  norm statistics frozen at their ImageNet values (``norm_eval=True``);
- a second set of prediction layers on the intermediate stage (res4);
- losses weighted (4, 2, 1, 1/4, 1/8) for heatmap, segmentation, short,
  mid and long offsets, disk radius R = 32 px;
- SGD, constant lr 1e-3, momentum 0.9, 1M steps at batch 8 (8 GPUs x 1),
  Polyak averaging of the weights (EMAHook, decay 0.9999).

Evaluation as in the paper's main results: longest side 1401, output
stride 8 on the same weights (atrous rates changed at test time), Expected-OKS
keypoint scores, keypoint soft-NMS, at most 20 people, masks with
``p_seg >= 0.5`` and ``t = 0.25``; COCO keypoint AP (mmpose ``CocoMetric``,
instance score = ``bbox_scores``) and COCO person segmentation AP (mmdet's
``CocoMetric``, ``metric='segm'``) in one run. Flip and multi-scale testing
(601/1201/1801/2401) are ``model.test_cfg.flip_test`` and
``model.test_cfg.multiscale``.

Speed (not in the paper; no effect on the CPU): on GPUs training runs in
bf16 autocast (``optim_wrapper.type='AmpOptimWrapper'``, ``dtype='bfloat16'``;
on a machine without a GPU ``tools/train.py`` falls back to float32;
``--cfg-options optim_wrapper.type=OptimWrapper``: float32 anywhere) with
channels-last inputs (``model.train_cfg.channels_last``); on CUDA the network
runs in bf16 autocast and channels-last layout at test time
(``model.test_cfg.amp`` / ``channels_last``; prediction layers, refinement
and decoding stay float32), and decoding takes its compiled fixed-shape path
(``codec.decoder.compile='auto'``: ``torch.compile``; the first image of a
process compiles, 117 s measured on a fresh H100 machine, 33 s with
inductor's on-disk cache warm; then 6-13 ms per 1401 px image for 1-60
people there, in the last H100 run, see docs/benchmarks.md). To skip the
compilation:
``--cfg-options model.head.decoder.decoder.compile=False``.

Not stated in the paper and chosen here: weight decay 1e-4 (the usual
ResNet/DeepLab setting), translation up to 20% of the image side.

Data layout as in mmpose: ``data/coco/annotations/person_keypoints_*2017.json``
and ``data/coco/{train,val}2017/``.

    mim train personlab_mm r101_coco.py --gpus 8 --launcher pytorch
    mim test personlab_mm r101_coco.py -C work_dirs/r101_coco/iter_1000000.pth
"""
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['personlab_mm'], allow_failed_imports=False)

input_size = (801, 801)
train_output_stride = 16
codec = dict(
    type='PersonLabCodec',
    input_size=input_size,
    output_stride=train_output_stride,
    radius=32.,
    decoder=dict(compile='auto'))  # torch.compile'd decoding on CUDA

# runtime: 1M iterations at a constant learning rate
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=1_000_000,
    val_interval=50_000)
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(
    # bf16 autocast on GPUs (with model.train_cfg.channels_last); on a
    # machine without a GPU tools/train.py trains in float32 instead
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-4),
    # robustness: caps the update of a rare bad batch. Chosen well above
    # normal steps (r18_synthetic's gradient norm is 2-6; not yet measured
    # for this model: see grad_norm in the log and adjust)
    clip_grad=dict(max_norm=35., norm_type=2))
param_scheduler = []
auto_scale_lr = dict(base_batch_size=8)

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=50_000, max_keep_ckpts=3))
# pictures: instance masks under MMPose's skeletons and boxes, for
# `mim test ... --show-dir DIR` and tools/demo.py
visualizer = dict(type='PersonLabVisualizer', instance_score_thr=0.2)
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=1e-4,
        update_buffers=True,
        priority=49),
    # checkpoints loadable with torch.load(weights_only=True)
    dict(type='SafeCheckpointHook'),
    # a NaN/inf loss term stops the run naming the term and iteration
    # (action='skip' skips such steps instead)
    dict(type='NonFiniteLossHook', action='raise'),
]
log_processor = dict(by_epoch=False)

# model
model = dict(
    type='PersonLabEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=101,
        # atrous last stage: output stride 16
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(2, 3),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101'),
    ),
    head=dict(
        type='PersonLabHead',
        in_channels=2048,
        intermediate_in_channels=1024,
        intermediate_feat_index=0,
        feat_index=1,
        decoder=codec),
    # channels-last CUDA inputs in training (faster cuDNN kernels with bf16)
    train_cfg=dict(channels_last=True),
    test_cfg=dict(
        output_stride=8,  # trained at 16, same weights with atrous rates x2
        flip_test=False,
        multiscale=None,  # e.g. [601, 1201, 1801, 2401]
        amp='bf16', channels_last=True,  # network precision on CUDA
    ),
)

# data
# CocoDataset that validates the annotation file and images at load time
dataset_type = 'PersonLabCocoDataset'
data_mode = 'bottomup'
data_root = 'data/coco/'

train_pipeline = [
    dict(type='LoadImage'),
    dict(
        type='BottomupRandomAffine',
        input_size=input_size,
        shift_factor=0.2,
        scale_factor=(0.5, 1.5),
        scale_type='long',
        rotate_factor=0.,
        distribution='uniform'),
    dict(type='RandomFlip', direction='horizontal'),
    # impute keypoints of people annotated with a mask only (paper 3.3)
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
    dict(type='PersonLabResize', longest_side=1401, size_divisor=8),
    dict(
        type='PackPoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'ori_shape', 'img_shape',
                   'input_size', 'input_center', 'input_scale',
                   'raw_ann_info')),
]

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
        pipeline=train_pipeline,
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
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/person_keypoints_val2017.json',
        score_mode='bbox',  # the Expected-OKS / soft-NMS instance score
        nms_mode='none'),  # soft-NMS is part of the decoding
    dict(
        type='PersonSegmMetric',
        ann_file=data_root + 'annotations/person_keypoints_val2017.json'),
]
test_evaluator = val_evaluator
