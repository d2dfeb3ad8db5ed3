"""PosePlusSeg on the embedded synthetic people: the small CPU model of
``../personlab/r18_synthetic.py`` (quarter-width ResNet-18 from scratch,
output stride 8, 257x257 crops, Adam 4e-3, 1000 iterations at batch 8,
flip test at longest side 321) with PosePlusSeg's codec, head and
decoding as in ``pps_r101_coco.py``. Same data, budget and evaluation as
PersonLab's synthetic config, so their keypoint and segm AP compare
directly (projects.md). The crops stay 257 (not the paper's 401): the
synthetic images are 256-320 px.

    mim train personlab_mm pps_r18_synthetic.py
    mim test personlab_mm pps_r18_synthetic.py \
        -C work_dirs/pps_r18_synthetic/iter_1000.pth --show-dir vis
"""
_base_ = ['../personlab/r18_synthetic.py']

input_size = (257, 257)
codec = dict(
    type='PosePlusSegCodec',
    input_size=input_size,
    output_stride=8,
    radius=32.,
    metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
    tree_edges='personlab_coco',
    body_alpha=0.4,
    centroid='right_shoulder')

model = dict(
    head=dict(type='PosePlusSegHead', decoder=codec),
    test_cfg=dict(body_boost=1.))

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
    dict(
        type='PackPoseInputs',
        meta_keys=('id', 'img_id', 'img_path', 'category_id', 'crowd_index',
                   'ori_shape', 'img_shape', 'input_size', 'input_center',
                   'input_scale', 'flip', 'flip_direction', 'flip_indices',
                   'dataset_name')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
