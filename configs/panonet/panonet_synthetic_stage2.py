"""PanoNet on the embedded synthetic panoptic set, the paper's two-stage
training, stage 2 of 2: the coordinate channels added to the instance
branch, started from stage 1's checkpoint (its input layers get zero
weights for the two new channels), 750 more iterations. The two stages
together cost the one-stage ``panonet_synthetic.py``'s 1500 iterations.

    mim train personlab_mm panonet_synthetic_stage1.py
    mim train personlab_mm panonet_synthetic_stage2.py
    mim test personlab_mm panonet_synthetic_stage2.py \
        -C work_dirs/panonet_synthetic_stage2/iter_750.pth
"""
_base_ = ['./panonet_synthetic_stage1.py']

model = dict(
    coordinates=True,
    instance_backbone=dict(in_channels=5, backbone_cfg=dict(in_channels=5)))
load_from = 'work_dirs/panonet_synthetic_stage1/iter_750.pth'
