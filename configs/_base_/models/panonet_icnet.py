"""PanoNet's model as the paper builds it (Chen, Wang, Hebert 2020, Sec.
III): two independent ICNet branches (ResNet-50-D8 + PSP + cascade feature
fusion, MMSegmentation's ``ICNet`` and ``ICNeck``), the semantic one on the
image, the instance one on the image and two normalised coordinate
channels; per cascade scale (1/16, 1/8, 1/4; lambda 0.16, 0.4, 1) an
FCN-style classifier: semantic logits with softmax cross-entropy, a 12-D
embedding with the discriminative loss (delta_v 0.25, delta_d 1,
delta_r 6; alpha 1, beta 1, gamma 0.1). Both branches start from
MMSegmentation's ImageNet-pretrained ICNet trained on Cityscapes semantic
segmentation ("pretrained semantic segmentation weights"; the classifiers
are new). Method configs set the classes, the coordinates and the
bandwidths.
"""
num_things, num_stuff = 8, 11
norm_cfg = dict(type='BN', requires_grad=True)
icnet_checkpoint = (
    'https://download.openmmlab.com/mmsegmentation/v0.5/icnet/'
    'icnet_r50-d8_in1k-pre_832x832_160k_cityscapes/'
    'icnet_r50-d8_in1k-pre_832x832_160k_cityscapes_20210926_042715-'
    'ce310aea.pth')
icnet = dict(
    type='mmseg.ICNet',
    in_channels=3,
    backbone_cfg=dict(
        type='mmseg.ResNetV1c',
        in_channels=3,
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    layer_channels=(512, 2048),
    light_branch_middle_channels=32,
    psp_out_channels=512,
    out_channels=(64, 256, 256),
    norm_cfg=norm_cfg,
    align_corners=False,
    init_cfg=dict(
        type='Pretrained', checkpoint=icnet_checkpoint, prefix='backbone.'))
# the instance branch: RGB + x + y
icnet_xy = dict(
    icnet,
    in_channels=5,
    backbone_cfg=dict(icnet['backbone_cfg'], in_channels=5))


neck = dict(
    type='mmseg.ICNeck',
    in_channels=(64, 256, 256),
    out_channels=128,
    norm_cfg=norm_cfg,
    align_corners=False,
    init_cfg=dict(
        type='Pretrained', checkpoint=icnet_checkpoint, prefix='neck.'))
model = dict(
    type='PanoNet',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    semantic_backbone=icnet,
    semantic_neck=neck,
    instance_backbone=icnet_xy,
    instance_neck=neck,
    coordinates=True,
    head=dict(
        type='PanoNetHead',
        in_channels=128,
        num_things_classes=num_things,
        num_stuff_classes=num_stuff,
        feature_strides=(16, 8, 8),
        output_strides=(16, 8, 4),
        scale_weights=(0.16, 0.4, 1.0),
        channels=128,
        embedding_dims=12,
        dropout=0.1,
        norm_cfg=norm_cfg,
        loss_semantic=dict(
            type='CrossEntropyLoss', use_sigmoid=False, ignore_index=255,
            avg_non_ignore=True),
        loss_embedding=dict(
            type='DiscriminativeLoss', delta_v=0.25, delta_d=1.0,
            delta_r=6.0, alpha=1.0, beta=1.0, gamma=0.1),
        test_cfg=dict(bandwidth=0.5, min_instance_area=10,
                      max_instances=255, stuff_area=2048)))
