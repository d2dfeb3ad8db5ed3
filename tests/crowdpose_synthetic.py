"""A tiny CrowdPose-format set (14 keypoints, with masks) made from the
synthetic COCO people: the 12 body joints, ``top_head`` above the nose and
``neck`` between the shoulders."""
import json
import os.path as osp
from typing import Optional, Tuple

import numpy as np

from personlab_mm.datasets.synthetic import ensure_split

CROWDPOSE_NAMES = ('left_shoulder', 'right_shoulder', 'left_elbow',
                   'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
                   'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                   'right_ankle', 'top_head', 'neck')
# CrowdPose's skeleton (MMPose's crowdpose.py), 1-based as COCO files say
CROWDPOSE_SKELETON = [[11, 9], [9, 7], [12, 10], [10, 8], [7, 8], [1, 7],
                      [2, 8], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6],
                      [13, 14], [2, 14], [1, 14]]


def to_crowdpose(coco_kpts: np.ndarray) -> np.ndarray:
    """(17, 3) COCO keypoints -> (14, 3) CrowdPose keypoints."""
    out = np.zeros((14, 3))
    out[:12] = coco_kpts[5:17]
    shoulders = coco_kpts[5:7]
    if (shoulders[:, 2] > 0).all():
        out[13, :2] = shoulders[:, :2].mean(0)
        out[13, 2] = 2
        nose = coco_kpts[0]
        if nose[2] > 0:
            out[12, :2] = nose[:2] + 0.6 * (nose[:2] - out[13, :2])
            out[12, 2] = 2
    return out


def write_crowdpose_split(root: str, split: str, num_images: int,
                          keypoints_only: bool = False,
                          ann_name: Optional[str] = None) -> Tuple[str, str]:
    """Generate a synthetic split under ``root`` and write its CrowdPose
    version next to it.

    Args:
        root (str): Directory of the synthetic set.
        split (str): ``'train'`` or ``'val'``.
        num_images (int): Images of the split.
        keypoints_only (bool): Like the real CrowdPose files: no
            segmentations and no areas, a ``crowdIndex`` per image, file
            names relative to ``images/`` (``{split}/000001.jpg``).
        ann_name (str, optional): Annotation file name under
            ``root/annotations``; defaults to ``crowdpose_{split}.json``.

    Returns:
        tuple: the annotation file and the image directory.
    """
    coco_file = ensure_split(root, split, num_images)
    with open(coco_file) as f:
        coco = json.load(f)
    for ann in coco['annotations']:
        kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(17, 3)
        cp = to_crowdpose(kpts)
        ann['keypoints'] = cp.reshape(-1).round(2).tolist()
        ann['num_keypoints'] = int((cp[:, 2] > 0).sum())
        if keypoints_only:
            ann.pop('segmentation')
            ann.pop('area')
    # keypoint-only data has no crowd regions (they need a mask)
    coco['annotations'] = [a for a in coco['annotations']
                           if not (keypoints_only and a['iscrowd'])]
    img_dir = osp.join(root, 'images', split)
    if keypoints_only:
        for img in coco['images']:
            img['file_name'] = f"{split}/{img['file_name']}"
            img['crowdIndex'] = 0.3
        img_dir = osp.join(root, 'images')
    coco['categories'][0].update(keypoints=list(CROWDPOSE_NAMES),
                                 skeleton=CROWDPOSE_SKELETON)
    ann_file = osp.join(root, 'annotations',
                        ann_name or f'crowdpose_{split}.json')
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    return ann_file, img_dir
