"""PosePlusSeg, ResNet-152, COCO 2017: as ``pps_r101_coco.py`` with a
deeper backbone (paper Tables 1-4).

    mim train personlab_mm pps_r152_coco.py --gpus 8 --launcher pytorch
"""
_base_ = ['./pps_r101_coco.py']

model = dict(
    backbone=dict(
        depth=152,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet152')))
