"""PanoNet on Cityscapes, the paper's setting (Chen, Wang, Hebert 2020;
55.1 PQ, 20 fps at 1024x2048 on a Titan X): training stage 2 of 2, the
instance branch with the two normalised coordinate channels (5 input
channels), started from stage 1's checkpoint
(``panonet_icnet_cityscapes_stage1.py``): the input layers of the
stage-1 instance branch get zero weights for the coordinate channels
(``extend_coordinate_inputs``), so training resumes from exactly stage 1's
outputs and learns how to use the positions. Run stage 1 first, or point
``load_from`` at its checkpoint::

    mim train personlab_mm panonet_icnet_cityscapes_stage1.py --gpus 4 \
        --launcher pytorch
    mim train personlab_mm panonet_icnet_cityscapes.py --gpus 4 \
        --launcher pytorch --cfg-options \
        load_from=work_dirs/panonet_icnet_cityscapes_stage1/iter_60000.pth
    mim test personlab_mm panonet_icnet_cityscapes.py \
        -C work_dirs/panonet_icnet_cityscapes/iter_60000.pth

Mean-shift bandwidths: one per thing class, searched on the training set
from ``delta_v`` upwards (the paper's procedure) by
``tools/analysis/panonet_bandwidth.py``, which prints the
``model.head.test_cfg.bandwidth`` line to paste here; until then 0.5
(2 delta_v) for every class. Everything else as stage 1.
"""
_base_ = ['./panonet_icnet_cityscapes_stage1.py']

model = dict(
    coordinates=True,
    # stage 1's checkpoint initialises the whole model (load_from)
    instance_backbone=dict(
        in_channels=5, backbone_cfg=dict(in_channels=5), init_cfg=None),
    instance_neck=dict(init_cfg=None),
    semantic_backbone=dict(init_cfg=None),
    semantic_neck=dict(init_cfg=None),
    head=dict(test_cfg=dict(bandwidth=0.5)))
load_from = 'work_dirs/panonet_icnet_cityscapes_stage1/iter_60000.pth'
