"""Synthetic splits on disk: written once per ``(split, num_images,
seed)``, safely under concurrent use, plus the command line (the file side
of :mod:`personlab_mm.datasets.synthetic`)."""
import argparse
import fcntl
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Optional

import cv2
import numpy as np

from .people import (COCO_KEYPOINT_NAMES, COCO_SKELETON_1BASED,
                     GENERATOR_VERSION, _make_image)

#: Default number of images per split.
DEFAULT_SIZES = dict(train=256, val=32)

_SPLIT_SEEDS = dict(train=1000, val=2000, test=3000)


def generate_split(root: str, split: str, num_images: int,
                   seed: Optional[int] = None) -> str:
    """Write one split under ``root`` (overwriting it) and return its json.

    Args:
        root (str): Dataset root directory.
        split (str): Split name, used in file names.
        num_images (int): Number of images.
        seed (int, optional): Base seed; defaults to a fixed per-split seed.

    Returns:
        str: Path of the annotation file.
    """
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    base_seed = _SPLIT_SEEDS.get(split, 4000) if seed is None else seed
    img_dir = osp.join(root, 'images', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for i in range(num_images):
        image_id = i + 1
        rng = np.random.RandomState(base_seed * 100003 + i)
        img, anns = _make_image(rng, image_id, ann_id_start=image_id * 100)
        file_name = f'{image_id:06d}.jpg'
        cv2.imwrite(osp.join(img_dir, file_name), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        images.append(
            dict(id=image_id, file_name=file_name, height=img.shape[0],
                 width=img.shape[1]))
        annotations.extend(anns)
    coco = dict(
        info=dict(
            description='personlab_mm synthetic people',
            version=f'{GENERATOR_VERSION}',
            split=split),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[
            dict(
                id=1,
                name='person',
                supercategory='person',
                keypoints=list(COCO_KEYPOINT_NAMES),
                skeleton=COCO_SKELETON_1BASED)
        ])
    ann_file = osp.join(root, 'annotations', f'person_keypoints_{split}.json')
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    return ann_file


def _stamp(split: str, num_images: int, seed: Optional[int]) -> Dict:
    return dict(version=GENERATOR_VERSION, split=split, num_images=num_images,
                seed=seed)


def ensure_split(root: str, split: str, num_images: Optional[int] = None,
                 seed: Optional[int] = None) -> str:
    """Generate a split under ``root`` unless an identical one is there.

    Safe when several processes (distributed ranks, parallel tests) call it
    at once: they serialise on a lock file, and a split is written to a
    temporary directory and moved into place before its stamp is written.

    Returns:
        str: Path of the split's annotation file.
    """
    num_images = DEFAULT_SIZES.get(split, 32) if num_images is None else \
        int(num_images)
    stamp_file = osp.join(root, f'.{split}.stamp.json')
    ann_file = osp.join(root, 'annotations', f'person_keypoints_{split}.json')
    want = _stamp(split, num_images, seed)
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if osp.exists(stamp_file) and osp.exists(ann_file):
            with open(stamp_file) as f:
                if json.load(f) == want:
                    return ann_file
        if osp.exists(stamp_file):
            os.remove(stamp_file)
        tmp = tempfile.mkdtemp(prefix=f'.{split}.', dir=root)
        try:
            generate_split(tmp, split, num_images, seed)
            final_imgs = osp.join(root, 'images', split)
            os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
            shutil.rmtree(final_imgs, ignore_errors=True)
            os.renames(osp.join(tmp, 'images', split), final_imgs)
            os.replace(
                osp.join(tmp, 'annotations',
                         f'person_keypoints_{split}.json'), ann_file)
            with open(stamp_file, 'w') as f:
                json.dump(want, f)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return ann_file


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default='data/personlab_synthetic')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--num-images', type=int, default=None)
    args = parser.parse_args(argv)
    for split in args.splits:
        print(ensure_split(args.root, split, args.num_images))
