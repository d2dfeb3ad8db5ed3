"""Helpers shared by the tests (importable from every test folder)."""
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import KEYPOINT_CODECS

from personlab_mm.structures import IMPUTATION_TEMPLATE, KeypointSet

#: MMPose's COCO keypoint set, as the COCO configs name it.
COCO_METAINFO = dict(from_file='configs/_base_/datasets/coco.py')
CROWDPOSE_METAINFO = dict(from_file='configs/_base_/datasets/crowdpose.py')

#: The upright template of the 17 COCO keypoints, (17, 2) in a unit box.
COCO_TEMPLATE = np.asarray(
    [IMPUTATION_TEMPLATE[n] for n in (
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
        'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
        'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
        'right_knee', 'left_ankle', 'right_ankle')], dtype=np.float32)


def codec_cfg(**kw) -> dict:
    """A PersonLabCodec config over COCO's keypoints and the paper's tree."""
    cfg = dict(type='PersonLabCodec', metainfo=COCO_METAINFO,
               tree_edges='personlab_coco')
    cfg.update(kw)
    return cfg


def build_codec(**kw):
    return KEYPOINT_CODECS.build(codec_cfg(**kw))


def coco_keypoints() -> KeypointSet:
    return KeypointSet.from_metainfo(COCO_METAINFO, 'personlab_coco')


def standing_person(cx: float, cy: float, h: float) -> np.ndarray:
    """A standing person of height h centred at (cx, cy): (17, 2)."""
    t = COCO_TEMPLATE
    return np.stack([cx + (t[:, 0] - 0.5) * h * 0.5,
                     cy + (t[:, 1] - 0.5) * h], axis=1).astype(np.float32)


#: The repository root and its configs.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO_ROOT, 'configs')


def mim_executable() -> str:
    """The ``mim`` of this environment."""
    exe = shutil.which('mim', path=osp.dirname(sys.executable))
    assert exe, 'mim is not installed in this environment'
    return exe


def run_command(cmd, cwd, env=None, timeout=900) -> str:
    """Run ``cmd``, assert it succeeds, return its output (stdout and
    stderr together)."""
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=timeout)
    assert proc.returncode == 0, f'{cmd} failed:\n{proc.stdout[-6000:]}'
    return proc.stdout


def read_panoptic_ids(path) -> np.ndarray:
    """Segment ids of a COCO-panoptic PNG (RGB-encoded)."""
    from panopticapi.utils import rgb2id
    from PIL import Image
    return rgb2id(np.array(Image.open(path).convert('RGB')))


def panoptic_sample(ann_file, img_dir, seg_dir, metainfo, index=0):
    """``(dataset, dataset[index])`` of a ``CrowdAwareCocoPanopticDataset``
    through ``LoadImageFromFile`` and ``LoadCheckedPanopticAnnotations``."""
    from mmcv.transforms import LoadImageFromFile

    from personlab_mm.datasets import (CrowdAwareCocoPanopticDataset,
                                       LoadCheckedPanopticAnnotations)
    dataset = CrowdAwareCocoPanopticDataset(
        ann_file=str(ann_file), data_root='',
        data_prefix=dict(img=str(img_dir) + '/', seg=str(seg_dir) + '/'),
        metainfo=metainfo, pipeline=[
            LoadImageFromFile(),
            LoadCheckedPanopticAnnotations(with_bbox=True, with_label=True,
                                           with_mask=True, with_seg=True)
        ])
    return dataset, dataset[index]


def toy_panoptic_sample(h, w, pad_hw=None):
    """A toy ``DetDataSample`` with panoptic ground truth: two things
    (class 0 and 1) on stuff 2 / 3, a crowd of class 0; ``pad_hw``: the
    batch input it is padded into."""
    seg = np.full((h, w), 2, dtype=np.uint8)
    seg[:, w // 2:] = 3
    masks = np.zeros((2, h, w), dtype=np.uint8)
    masks[0, 2:h // 2, 2:w // 3] = 1
    masks[1, h // 2:h - 2, w // 2:w - 3] = 1
    crowd = np.zeros((1, h, w), dtype=np.uint8)
    crowd[0, 1:3, w - 6:w - 1] = 1
    seg[masks[0] > 0] = 0
    seg[masks[1] > 0] = 1
    seg[crowd[0] > 0] = 0
    sample = DetDataSample(metainfo=dict(
        img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.),
        batch_input_shape=pad_hw or (h, w), pad_shape=pad_hw or (h, w),
        img_path='toy.jpg'))
    sample.gt_sem_seg = PixelData(sem_seg=torch.from_numpy(seg)[None])
    sample.gt_instances = InstanceData(
        masks=BitmapMasks(masks, h, w), labels=torch.tensor([0, 1]))
    sample.ignored_instances = InstanceData(masks=BitmapMasks(crowd, h, w))
    return sample


_NORM = dict(type='BN')


def _toy_icnet(in_channels):
    return dict(
        type='mmseg.ICNet', in_channels=in_channels,
        backbone_cfg=dict(type='mmseg.ResNetV1c', in_channels=in_channels,
                          depth=18, stem_channels=8, base_channels=8,
                          dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
                          norm_cfg=_NORM, contract_dilation=True),
        layer_channels=(16, 64), light_branch_middle_channels=8,
        psp_out_channels=16, out_channels=(8, 16, 16), norm_cfg=_NORM)


_TOY_ICNECK = dict(type='mmseg.ICNeck', in_channels=(8, 16, 16),
                   out_channels=16, norm_cfg=_NORM)


def toy_panonet_cfg(coordinates=True, **test_cfg):
    """A tiny PanoNet (two toy ICNets, 2 things + 2 stuff, 6-D
    embeddings) in MMDetection's scope."""
    return dict(
        type='PanoNet',
        _scope_='mmdet',
        data_preprocessor=dict(type='DetDataPreprocessor',
                               mean=[0., 0., 0.], std=[255., 255., 255.],
                               pad_size_divisor=32),
        semantic_backbone=_toy_icnet(3),
        semantic_neck=_TOY_ICNECK,
        instance_backbone=_toy_icnet(5 if coordinates else 3),
        instance_neck=_TOY_ICNECK,
        coordinates=coordinates,
        head=dict(type='PanoNetHead', in_channels=16,
                  num_things_classes=2, num_stuff_classes=2, channels=16,
                  embedding_dims=6,
                  test_cfg=dict(stuff_area=1, min_instance_area=1,
                                **test_cfg)))
