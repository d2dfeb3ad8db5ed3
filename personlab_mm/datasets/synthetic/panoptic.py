"""The embedded synthetic panoptic set on disk (COCO panoptic format, plus
the same things as COCO instance annotations): written once per ``(split,
num_images, seed)``, safely under concurrent use.

Layout written under ``root`` (a root of its own: the people set writes
``images/{split}/`` too)::

    images/{split}/{image_id:06d}.jpg
    annotations/panoptic_{split}/{image_id:06d}.png   ids as RGB (id2rgb)
    annotations/panoptic_{split}.json                  COCO panoptic
    annotations/instances_{split}.json                 things, RLE masks

The panoptic json has ``images``, ``annotations`` (one per image:
``image_id``, ``file_name`` of the PNG and ``segments_info`` entries with
``id``, ``category_id``, ``iscrowd``, ``area``, ``bbox`` [x, y, w, h]) and
``categories`` (``id``, ``name``, ``supercategory``, ``isthing``,
``color``). The instances json holds the thing segments of the same scenes
(crowd regions with ``iscrowd=1``) as compressed RLE, for MMDetection's
``CocoMetric(metric='segm')``; its ``segment_id`` field names the panoptic
segment.
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils

from .panoptic_scene import (PANOPTIC_CATEGORIES, PANOPTIC_GENERATOR_VERSION,
                             make_panoptic_scene)
from .splits import ensure_generated

#: Default number of images per split of the panoptic set.
DEFAULT_PANOPTIC_SIZES = dict(train=256, val=32)

DEFAULT_PANOPTIC_ROOT = 'data/synthetic_panoptic'

_SPLIT_SEEDS = dict(train=5000, val=6000, test=7000)


class PanopticSplitFiles(NamedTuple):
    """Where one split of the synthetic panoptic set lives.

    Attributes:
        image_dir (str): The JPEG images.
        panoptic_json (str): COCO panoptic annotations (``ann_file`` of
            ``CocoPanopticMetric``).
        panoptic_dir (str): The panoptic PNGs (``seg_prefix`` of
            ``CocoPanopticMetric``).
        instances_json (str): COCO instance annotations of the things
            (``ann_file`` of ``CocoMetric(metric='segm')``).
    """
    image_dir: str
    panoptic_json: str
    panoptic_dir: str
    instances_json: str


def panoptic_split_files(root: str, split: str) -> PanopticSplitFiles:
    """The paths of a split under ``root`` (nothing is generated)."""
    ann = osp.join(root, 'annotations')
    return PanopticSplitFiles(
        image_dir=osp.join(root, 'images', split),
        panoptic_json=osp.join(ann, f'panoptic_{split}.json'),
        panoptic_dir=osp.join(ann, f'panoptic_{split}'),
        instances_json=osp.join(ann, f'instances_{split}.json'))


def panoptic_metainfo() -> Dict:
    """MMDetection metainfo of the set: ``classes`` (things, then stuff),
    ``thing_classes``, ``stuff_classes`` and an RGB ``palette``."""
    things = [c for c in PANOPTIC_CATEGORIES if c['isthing']]
    stuff = [c for c in PANOPTIC_CATEGORIES if not c['isthing']]
    return dict(
        classes=tuple(c['name'] for c in things + stuff),
        thing_classes=tuple(c['name'] for c in things),
        stuff_classes=tuple(c['name'] for c in stuff),
        palette=[tuple(c['color']) for c in things + stuff])


def _bbox_xywh(mask: np.ndarray) -> List[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
            int(ys.max() - ys.min() + 1)]


def _annotate(ids: np.ndarray, segments: List[Dict], image_id: int,
              next_ann_id: int) -> Tuple[List[Dict], List[Dict]]:
    """Panoptic ``segments_info`` and COCO instance annotations of one
    image's segments."""
    isthing = {c['id']: c['isthing'] for c in PANOPTIC_CATEGORIES}
    segments_info, instances = [], []
    for seg in segments:
        mask = ids == seg['id']
        info = dict(seg, area=int(mask.sum()), bbox=_bbox_xywh(mask))
        segments_info.append(info)
        if not isthing[seg['category_id']]:
            continue
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        instances.append(
            dict(id=next_ann_id + len(instances), image_id=image_id,
                 category_id=seg['category_id'], iscrowd=seg['iscrowd'],
                 area=float(info['area']),
                 bbox=[float(v) for v in info['bbox']],
                 segmentation=dict(size=list(rle['size']),
                                   counts=rle['counts'].decode()),
                 segment_id=seg['id']))
    return segments_info, instances


def _id2rgb():
    """``panopticapi.utils.id2rgb``, imported on use (as MMDetection does)
    so that the package imports without panopticapi."""
    try:
        from panopticapi.utils import id2rgb
    except ImportError as exc:
        raise ImportError(
            'writing the synthetic panoptic set needs panopticapi: '
            'pip install panopticapi-lite==0.2.0 '
            '(requirements/runtime.txt)') from exc
    return id2rgb


def _write_json(path: str, data: Dict) -> None:
    with open(path, 'w') as f:
        json.dump(data, f)


def generate_panoptic_split(root: str, split: str, num_images: int,
                            seed: Optional[int] = None) -> PanopticSplitFiles:
    """Write one split under ``root`` (overwriting it).

    Args:
        root (str): Dataset root directory.
        split (str): Split name, used in file names.
        num_images (int): Number of images.
        seed (int, optional): Base seed; defaults to a fixed per-split seed.

    Returns:
        PanopticSplitFiles: The split's paths.
    """
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    base_seed = _SPLIT_SEEDS.get(split, 8000) if seed is None else seed
    files = panoptic_split_files(root, split)
    os.makedirs(files.image_dir, exist_ok=True)
    os.makedirs(files.panoptic_dir, exist_ok=True)
    id2rgb = _id2rgb()
    images, panoptic_anns, instance_anns = [], [], []
    for i in range(num_images):
        image_id = i + 1
        rng = np.random.RandomState(base_seed * 100003 + i)
        img, ids, segments = make_panoptic_scene(rng)
        name = f'{image_id:06d}'
        cv2.imwrite(osp.join(files.image_dir, name + '.jpg'), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(osp.join(files.panoptic_dir, name + '.png'),
                    id2rgb(ids)[:, :, ::-1])
        images.append(dict(id=image_id, file_name=name + '.jpg',
                           height=img.shape[0], width=img.shape[1]))
        segments_info, instances = _annotate(ids, segments, image_id,
                                             len(instance_anns) + 1)
        panoptic_anns.append(dict(image_id=image_id, file_name=name + '.png',
                                  segments_info=segments_info))
        instance_anns.extend(instances)
    info = dict(description='personlab_mm synthetic panoptic',
                version=f'{PANOPTIC_GENERATOR_VERSION}', split=split)
    _write_json(files.panoptic_json,
                dict(info=info, licenses=[], images=images,
                     annotations=panoptic_anns,
                     categories=[dict(c) for c in PANOPTIC_CATEGORIES]))
    things = [dict(id=c['id'], name=c['name'],
                   supercategory=c['supercategory'])
              for c in PANOPTIC_CATEGORIES if c['isthing']]
    _write_json(files.instances_json,
                dict(info=info, licenses=[], images=images,
                     annotations=instance_anns, categories=things))
    return files


def ensure_panoptic_split(root: str = DEFAULT_PANOPTIC_ROOT,
                          split: str = 'val',
                          num_images: Optional[int] = None,
                          seed: Optional[int] = None) -> PanopticSplitFiles:
    """Generate a split under ``root`` unless an identical one is there.

    Safe when several processes call it at once (the people set's lock,
    temporary directory and stamp: ``.panoptic_{split}.stamp.json``).

    Args:
        root (str): Dataset root directory.
        split (str): ``'train'``, ``'val'`` or another name (own seed).
        num_images (int, optional): Defaults to 256 for train, else 32.
        seed (int, optional): Defaults to a fixed per-split seed.

    Returns:
        PanopticSplitFiles: The split's paths, all existing.
    """
    num_images = DEFAULT_PANOPTIC_SIZES.get(split, 32) \
        if num_images is None else int(num_images)
    if osp.exists(osp.join(root, f'.{split}.stamp.json')):
        raise ValueError(
            f'{root} holds the synthetic people set ({split!r} split, '
            f'images/{split}/ included); give the panoptic set a root of '
            'its own')
    want = dict(kind='panoptic', version=PANOPTIC_GENERATOR_VERSION,
                split=split, num_images=num_images, seed=seed)
    files = panoptic_split_files(root, split)
    products = [osp.relpath(path, root) for path in files]
    ensure_generated(
        root, f'panoptic_{split}', want, products,
        lambda tmp: generate_panoptic_split(tmp, split, num_images, seed))
    return files


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description='Write the synthetic panoptic set (COCO panoptic and '
        'instance annotations).')
    parser.add_argument('--root', default=DEFAULT_PANOPTIC_ROOT)
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--num-images', type=int, default=None)
    parser.add_argument('--seed', type=int, default=None)
    args = parser.parse_args(argv)
    for split in args.splits:
        files = ensure_panoptic_split(args.root, split, args.num_images,
                                      args.seed)
        print(files.panoptic_json)
