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
  mid and long offsets, disk radius R = 32 px; the kinematic tree of the
  paper over COCO's 17 keypoints (``tree_edges='personlab_coco'``; the
  keypoint set is MMPose's COCO metainfo);
- SGD, constant lr 1e-3, momentum 0.9, 1M steps at batch 8 (8 GPUs x 1),
  Polyak averaging of the weights (EMAHook, decay 0.9999)
  (``_base_/schedules/sgd_1m_iters.py``).

Evaluation as in the paper's main results: longest side 1401, output
stride 8 on the same weights (atrous rates changed at test time),
Expected-OKS keypoint scores, keypoint soft-NMS, at most 20 people, masks
with ``p_seg >= 0.5`` and ``t = 0.25`` (``model.test_cfg``, see
``PersonLabDecoder`` for every key); COCO keypoint AP and COCO person
segmentation AP in one run. Flip and multi-scale testing
(601/1201/1801/2401) are ``model.test_cfg.flip_test`` and
``model.test_cfg.multiscale``.

Speed (not in the paper; no effect on the CPU): on GPUs training runs in
bf16 autocast with channels-last inputs (``model.train_cfg.channels_last``);
on CUDA the network runs in bf16 autocast and channels-last layout at test
time (``model.test_cfg.amp`` / ``channels_last``; prediction layers,
refinement and decoding stay float32), and decoding takes its compiled
fixed-shape path (``model.test_cfg.compile='auto'``: ``torch.compile``;
the first image of a process compiles, 117 s measured on a fresh H100
machine with an earlier code version, 33 s with inductor's on-disk cache
warm; see docs/benchmarks.md). To skip the compilation:
``--cfg-options model.test_cfg.compile=False``.

Not stated in the paper and chosen here: weight decay 1e-4, translation up
to 20% of the image side, gradient clipping (see the schedule), keypoints
of mask-only people imputed with a geometric template instead of a pose
estimator (Sec. 3.3).

    mim train personlab_mm r101_coco.py --gpus 8 --launcher pytorch
    mim test personlab_mm r101_coco.py -C work_dirs/r101_coco/iter_1000000.pth
"""
_base_ = [
    '../_base_/schedules/sgd_1m_iters.py', '../_base_/datasets/coco_person.py'
]

input_size = (801, 801)
codec = dict(
    type='PersonLabCodec',
    input_size=input_size,
    output_stride=16,
    radius=32.,
    metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
    tree_edges='personlab_coco')

custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=1e-4,
        update_buffers=True,
        priority=49),
    # a head of K keypoints on a dataset of K' != K stops the run at once
    dict(type='KeypointSetCheckHook'),
    dict(type='NonFiniteLossHook', action='raise'),
]

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
        max_people=20,
        amp='bf16', channels_last=True,  # network precision on CUDA
        compile='auto',  # torch.compile'd fixed-shape decoding on CUDA
    ),
)

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

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
