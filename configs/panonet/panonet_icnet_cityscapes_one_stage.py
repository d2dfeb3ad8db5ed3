"""PanoNet on Cityscapes trained in one stage, for comparison with the
paper's two (``panonet_icnet_cityscapes.py``): the coordinate channels
from the start, both branches from the semantic ICNet weights (the
instance branch's coordinate inputs start at zero weight), the same
schedule as one stage. The paper reports that training with coordinates
from scratch overuses them and generalises worse (Sec. III-C); this
config measures that.

    mim train personlab_mm panonet_icnet_cityscapes_one_stage.py --gpus 4 \
        --launcher pytorch
"""
_base_ = ['./panonet_icnet_cityscapes.py']

icnet_checkpoint = {{_base_.icnet_checkpoint}}
model = dict(
    instance_backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained', checkpoint=icnet_checkpoint,
            prefix='backbone.')),
    instance_neck=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained', checkpoint=icnet_checkpoint, prefix='neck.')),
    semantic_backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained', checkpoint=icnet_checkpoint,
            prefix='backbone.')),
    semantic_neck=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained', checkpoint=icnet_checkpoint, prefix='neck.')))
load_from = None
