"""PersonLab, ResNet-152, COCO 2017: as ``r101_coco.py`` with a deeper
backbone (paper Tables 1-3).

    mim train personlab_mm r152_coco.py --gpus 8 --launcher pytorch
"""
_base_ = ['./r101_coco.py']

model = dict(
    backbone=dict(
        depth=152,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet152')))
