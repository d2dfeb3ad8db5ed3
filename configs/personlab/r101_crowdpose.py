"""PersonLab, ResNet-101, CrowdPose: keypoints only (14 keypoints, no
person masks).

Everything as ``r101_coco.py`` (network, schedule, 801x801 training crops,
output stride 16 in training and 8 at test time, longest side 1401)
except what the data asks for:

- keypoint set: MMPose's CrowdPose metainfo (14 keypoints: 12 body joints,
  top of the head, neck); the kinematic tree is derived from its skeleton
  links (``tree_edges=None``: rooted at the neck, 13 edges, 26 directed
  mid-range offsets), as the paper gives no tree for CrowdPose;
- no masks, so no segmentation is trained (``segmentation_weights`` are 0
  in every image with a person without a mask) and none is decoded
  (``model.test_cfg.decode_masks=False``); no keypoint imputation (it needs
  masks);
- long-range offsets (which the decoder uses where a chain meets a joint
  that is not there, and to choose anchors on a person's own pixels) are
  trained inside a proxy region: each person's union of its keypoint disks
  (radius R = 32 px around every labelled keypoint), the pixels around its
  joints, which are its own unless another person's disks overlap them
  (such pixels are not trained, like overlapping masks). Chosen over the
  box (in CrowdPose the boxes of neighbours overlap by construction, and a
  box is mostly background or other people) and over switching the
  long-range loss off (the decoder would lose the fallback that carries a
  chain across unlabelled joints: the decode upper bound on the CrowdPose
  sample is 0.950 without long-range maps, 1.000 with them);
- evaluation as MMPose's CrowdPose configs: ``CocoMetric`` with
  ``use_area=False`` (OKS over box areas: CrowdPose has no areas),
  ``iou_type='keypoints_crowd'`` (AP easy/medium/hard by crowd index),
  metric prefix ``crowdpose/``.

Data in MMPose's CrowdPose layout::

    data/crowdpose/annotations/mmpose_crowdpose_{trainval,test}.json
    data/crowdpose/images/

    mim train personlab_mm r101_crowdpose.py --gpus 8 --launcher pytorch
    mim test personlab_mm r101_crowdpose.py \
        -C work_dirs/r101_crowdpose/iter_N.pth
"""
_base_ = ['./r101_coco.py']

metainfo = dict(from_file='configs/_base_/datasets/crowdpose.py')
input_size = (801, 801)
codec = dict(
    type='PersonLabCodec',
    input_size=input_size,
    output_stride=16,
    radius=32.,
    metainfo=metainfo,
    tree_edges=None)  # derived from CrowdPose's skeleton

model = dict(
    head=dict(decoder=codec),
    # no masks to learn them from; crowded images: up to 30 people
    test_cfg=dict(decode_masks=False, max_people=30))

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
        meta_keys=('id', 'img_id', 'img_path', 'crowd_index', 'ori_shape',
                   'img_shape', 'input_size', 'input_center', 'input_scale',
                   'raw_ann_info')),
]

data_root = 'data/crowdpose/'
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/mmpose_crowdpose_trainval.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/mmpose_crowdpose_test.json',
        data_prefix=dict(img='images/'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'annotations/mmpose_crowdpose_test.json',
    score_mode='bbox',  # the decoder's instance score
    nms_mode='none',  # instance NMS is part of the decoding
    use_area=False,
    iou_type='keypoints_crowd',
    prefix='crowdpose')
test_evaluator = val_evaluator
