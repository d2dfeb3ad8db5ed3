"""A COCO-format person keypoint set made of degenerate cases (test helper).

Every image exercises one case the data path must handle correctly:

==  =====================================================================
id  case
==  =====================================================================
1   normal scene: two people (synthetic generator)
2   no people at all (an image without annotations)
3   only a crowd annotation (RLE, no keypoints)
4   a person with zero keypoints (polygon mask only); a person with
    degenerate polygons (fewer than 3 points, collinear points); a person
    with an empty segmentation and a zero-size box
5   three people whose masks are compressed RLE, polygons and
    uncompressed RLE
6   a person whose keypoints lie outside the image
7   visibility flags 0, 1 and 2 mixed (flag 0 with non-zero coordinates)
8   a very large image (``large`` pixels, default 4000x3000)
==  =====================================================================
"""
import copy
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils

from personlab_mm.datasets.synthetic import (COCO_KEYPOINT_NAMES,
                                             COCO_SKELETON_1BASED, make_scene)

K = 17


def _scene(num_people: int, size: Tuple[int, int], seed: int,
           image_id: int, ann_id: int) -> Tuple[np.ndarray, List[dict]]:
    img, anns = make_scene(num_people, image_size=size, seed=seed)
    for i, ann in enumerate(anns):
        ann.update(id=ann_id + i, image_id=image_id)
    return img, anns


def _ann(ann_id: int, image_id: int, **kw) -> dict:
    ann = dict(id=ann_id, image_id=image_id, category_id=1, iscrowd=0,
               area=0., bbox=[0., 0., 0., 0.], num_keypoints=0,
               keypoints=[0] * (3 * K), segmentation=[])
    ann.update(kw)
    return ann


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=list(rle['size']), counts=rle['counts'].decode())


def _large_scene(size: Tuple[int, int], image_id: int,
                 ann_id: int) -> Tuple[np.ndarray, List[dict]]:
    """A three-person scene drawn at a tenth of ``size`` and scaled up
    (drawing at full size would cost seconds of noise generation)."""
    w, h = size
    f = 10
    small, anns = _scene(3, (w // f, h // f), image_id, image_id, ann_id)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    for ann in anns:
        kp = np.array(ann['keypoints'], dtype=float).reshape(K, 3)
        kp[:, :2] *= f
        ann['keypoints'] = kp.reshape(-1).tolist()
        ann['bbox'] = [v * f for v in ann['bbox']]
        ann['area'] = ann['area'] * f * f
        seg = ann['segmentation']
        if isinstance(seg, list):
            ann['segmentation'] = [[v * f for v in p] for p in seg]
        else:
            if isinstance(seg['counts'], list):
                seg = mask_utils.frPyObjects(seg, *seg['size'])
            mask = mask_utils.decode(seg)
            ann['segmentation'] = _rle(cv2.resize(
                mask, (w, h), interpolation=cv2.INTER_NEAREST))
    return img, anns


def degenerate_images(large: Tuple[int, int] = (4000, 3000)
                      ) -> List[Tuple[dict, np.ndarray, List[dict]]]:
    """``(image_info, image, annotations)`` of every case."""
    out = []

    def add(image_id, img, anns):
        info = dict(id=image_id, file_name=f'{image_id:06d}.jpg',
                    height=int(img.shape[0]), width=int(img.shape[1]))
        out.append((info, img, anns))

    # 1 normal scene
    add(1, *_scene(2, (320, 256), 1, 1, 100))
    # 2 no people
    rng = np.random.RandomState(2)
    add(2, rng.randint(0, 255, (200, 240, 3)).astype(np.uint8), [])
    # 3 only a crowd
    img = rng.randint(0, 255, (240, 240, 3)).astype(np.uint8)
    crowd = np.zeros((240, 240), bool)
    crowd[60:140, 40:200] = True
    add(3, img, [
        _ann(300, 3, iscrowd=1, area=float(crowd.sum()),
             bbox=[40., 60., 160., 80.], segmentation=_rle(crowd))
    ])
    # 4 zero keypoints / degenerate polygons / zero area
    img, anns = _scene(2, (288, 256), 4, 4, 400)
    anns[0].update(keypoints=[0] * (3 * K), num_keypoints=0)
    anns[1]['segmentation'] = [[10., 10., 20., 20.], [5., 5., 6., 6., 7., 7.]]
    anns.append(_ann(402, 4, bbox=[50., 50., 0., 0.], area=0.))
    add(4, img, anns)
    # 5 compressed RLE, polygons, uncompressed RLE (generator cycles them)
    img, anns = _scene(3, (320, 288), 5, 5, 500)
    kinds = {type(a['segmentation']).__name__ + (
        '-list' if isinstance(a['segmentation'], dict)
        and isinstance(a['segmentation']['counts'], list) else '')
        for a in anns}
    assert kinds == {'dict', 'list', 'dict-list'}, kinds
    add(5, img, anns)
    # 6 keypoints outside the image
    img, anns = _scene(1, (256, 256), 6, 6, 600)
    kp = np.array(anns[0]['keypoints'], dtype=float).reshape(K, 3)
    kp[[15, 16], :2] = [[-40., 300.], [290., 310.]]  # ankles outside
    kp[[15, 16], 2] = 2
    kp[0, :2] = [128., -25.]  # nose above the image
    kp[0, 2] = 1
    anns[0]['keypoints'] = kp.reshape(-1).tolist()
    anns[0]['num_keypoints'] = int((kp[:, 2] > 0).sum())
    add(6, img, anns)
    # 7 visibility flags 0 / 1 / 2
    img, anns = _scene(2, (256, 288), 7, 7, 700)
    kp = np.array(anns[0]['keypoints'], dtype=float).reshape(K, 3)
    kp[:, 2] = np.arange(K) % 3
    kp[kp[:, 2] == 0, :2] += 3.  # flag 0 with coordinates: still unlabelled
    anns[0]['keypoints'] = kp.reshape(-1).tolist()
    anns[0]['num_keypoints'] = int((kp[:, 2] > 0).sum())
    add(7, img, anns)
    # 8 a very large image
    if large:
        add(8, *_large_scene(tuple(large), 8, 800))
    return out


def write_coco(root: str,
               images: List[Tuple[dict, np.ndarray, List[dict]]],
               name: str = 'degenerate') -> Dict[str, str]:
    """Write images and the annotation file under ``root``.

    Returns:
        dict: ``ann_file`` and ``img_dir`` (absolute paths).
    """
    img_dir = osp.join(root, 'images')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    infos, anns = [], []
    for info, img, image_anns in images:
        cv2.imwrite(osp.join(img_dir, info['file_name']), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        infos.append(info)
        anns.extend(copy.deepcopy(image_anns))
    ann_file = osp.join(root, 'annotations', f'{name}.json')
    with open(ann_file, 'w') as f:
        json.dump(coco_dict(infos, anns), f)
    return dict(ann_file=ann_file, img_dir=img_dir)


def coco_dict(images: List[dict], annotations: List[dict],
              categories: Optional[List[dict]] = None) -> dict:
    """A COCO keypoint file's content."""
    if categories is None:
        categories = [
            dict(id=1, name='person', supercategory='person',
                 keypoints=list(COCO_KEYPOINT_NAMES),
                 skeleton=COCO_SKELETON_1BASED)
        ]
    return dict(info=dict(description='degenerate cases'), licenses=[],
                images=images, annotations=annotations,
                categories=categories)
