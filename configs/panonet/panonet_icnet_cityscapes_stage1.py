"""PanoNet on Cityscapes, training stage 1 of 2 (paper Sec. III-C): the
instance branch without coordinate channels, both branches from
semantic-segmentation weights (MMSegmentation's ICNet-R50 trained on
Cityscapes), the classifiers new. Stage 2 (``panonet_icnet_cityscapes.py``)
adds the coordinate channels and starts from this stage's checkpoint.

What is the paper's: the model of ``_base_/models/panonet_icnet.py``; whole
1024x2048 images in training and test (no down-sampling); Adadelta with
learning rate 0.003 and a polynomial decay; 4 GPUs.

Choices the paper leaves open (ours): 2 images per GPU (batch 8), 60k
iterations per stage, poly power 0.9, horizontal flips as the only
augmentation (the paper names none), ICNet's per-scale classifiers as
MMSegmentation's ``FCNHead`` (3x3 conv + 1x1 conv, dropout 0.1), losses
computed on the outputs upsampled to the input pixels (MMSegmentation's
way; ICNet's own code downsamples the labels), the discriminative loss
averaged over the images of a batch that have instances, void/crowd/stuff
pixels ignored by it, the coordinate channels in [-1, 1] over each image.

    python tools/dataset_converters/cityscapes_panoptic.py \
        --gtfine-dir data/cityscapes/gtFine
    mim train personlab_mm panonet_icnet_cityscapes_stage1.py --gpus 4 \
        --launcher pytorch
"""
_base_ = [
    '../_base_/det_runtime.py', '../_base_/datasets/cityscapes_panoptic.py',
    '../_base_/models/panonet_icnet.py'
]

model = dict(
    coordinates=False,
    instance_backbone=dict(in_channels=3, backbone_cfg=dict(in_channels=3)))

load_annotations = {{_base_.load_annotations}}
train_pipeline = [
    dict(type='LoadImageFromFile'),
    load_annotations,
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    load_annotations,
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 60000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adadelta', lr=0.003))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.,
        begin=0,
        end=max_iters,
        by_epoch=False),
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(checkpoint=dict(interval=5000, max_keep_ckpts=3))
