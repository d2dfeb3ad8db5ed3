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
from typing import Callable, Dict, List, Optional, Sequence

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


def ensure_generated(root: str, name: str, want: Dict,
                     products: Sequence[str],
                     generate: Callable[[str], object]) -> None:
    """Write generated files under ``root`` unless identical ones are there.

    The shared on-disk protocol of the synthetic sets. Safe when several
    processes (distributed ranks, parallel tests) call it at once: they
    serialise on ``root/.lock``; ``generate`` writes into a temporary
    directory under ``root``, each product is moved into place, and only
    then is the stamp ``root/.{name}.stamp.json`` written, so a stamp
    always describes complete files.

    Args:
        root (str): Dataset root directory.
        name (str): Name of what is generated (the stamp file's name).
        want (dict): The stamp: everything the files depend on (generator
            version, split, number of images, seed).
        products (Sequence[str]): Files and directories, relative to
            ``root``, that ``generate`` writes and that are moved into
            place.
        generate (Callable[[str], object]): Writes the products under the
            root it is given.
    """
    stamp_file = osp.join(root, f'.{name}.stamp.json')
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if osp.exists(stamp_file) and all(
                osp.exists(osp.join(root, p)) for p in products):
            with open(stamp_file) as f:
                if json.load(f) == want:
                    return
        if osp.exists(stamp_file):
            os.remove(stamp_file)
        tmp = tempfile.mkdtemp(prefix=f'.{name}.', dir=root)
        try:
            generate(tmp)
            for product in products:
                final = osp.join(root, product)
                os.makedirs(osp.dirname(final), exist_ok=True)
                if osp.isdir(final):
                    shutil.rmtree(final)
                os.replace(osp.join(tmp, product), final)
            with open(stamp_file, 'w') as f:
                json.dump(want, f)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def ensure_split(root: str, split: str, num_images: Optional[int] = None,
                 seed: Optional[int] = None) -> str:
    """Generate a split under ``root`` unless an identical one is there
    (safe under concurrent use: :func:`ensure_generated`).

    Returns:
        str: Path of the split's annotation file.
    """
    num_images = DEFAULT_SIZES.get(split, 32) if num_images is None else \
        int(num_images)
    ann_rel = osp.join('annotations', f'person_keypoints_{split}.json')
    ensure_generated(
        root, split, _stamp(split, num_images, seed),
        [osp.join('images', split), ann_rel],
        lambda tmp: generate_split(tmp, split, num_images, seed))
    return osp.join(root, ann_rel)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default='data/personlab_synthetic')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--num-images', type=int, default=None)
    args = parser.parse_args(argv)
    for split in args.splits:
        print(ensure_split(args.root, split, args.num_images))
