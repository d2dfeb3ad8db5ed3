"""Helpers shared by the tests (importable from every test folder)."""
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
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
