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

Not stated in the paper and chosen here: weight decay 1e-4 (the usual
ResNet/DeepLab setting), translation up to 20% of the image side.

Data layout as in mmpose: ``data/coco/annotations/person_keypoints_*2017.json``
and ``data/coco/{train,val}2017/``.

    mim train personlab_mm r101_coco.py --gpus 8 --launcher pytorch
"""
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['personlab_mm'], allow_failed_imports=False)

input_size = (801, 801)
train_output_stride = 16
codec = dict(
    type='PersonLabCodec',
    input_size=input_size,
    output_stride=train_output_stride,
    radius=32.)

# runtime: 1M iterations at a constant learning rate
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=1_000_000,
    val_interval=50_000)
val_cfg = None
test_cfg = None
val_dataloader = None
val_evaluator = None
test_dataloader = None
test_evaluator = None

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-4))
param_scheduler = []
auto_scale_lr = dict(base_batch_size=8)

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=50_000, max_keep_ckpts=3))
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=1e-4,
        update_buffers=True,
        priority=49),
    # checkpoints loadable with torch.load(weights_only=True)
    dict(type='SafeCheckpointHook'),
]
log_processor = dict(by_epoch=False)

# model
model = dict(
    type='BottomupPoseEstimator',
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
)

# data
dataset_type = 'CocoDataset'
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
    dict(type='GeneratePersonLabTargets', encoder=codec),
    dict(type='PackPoseInputs'),
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
