"""Cityscapes gtFine to COCO panoptic, for MMDetection's CocoPanopticDataset.

    python tools/dataset_converters/cityscapes_panoptic.py \\
        --gtfine-dir data/cityscapes/gtFine [--out-dir DIR] \\
        [--splits train val] [--nproc 2]

For each split, reads ``gtFine/<split>/<city>/*_gtFine_instanceIds.png``
and its ``*_gtFine_labelIds.png``, and writes
``cityscapes_panoptic_<split>.json`` and the PNG folder
``cityscapes_panoptic_<split>/`` into ``--out-dir`` (default: the
``gtFine`` folder), and ``cityscapes_instances_<split>.json``: the thing
segments as COCO instance annotations (compressed RLE, group regions
``iscrowd=1``, things-only categories), for the instance mask AP of a
panoptic model's by-product (MMDetection's ``CocoMetric(segm)``).

The panoptic content is cityscapesScripts' ``createPanopticImgs`` (label
ids, not train ids): the 19 evaluated classes are the categories, with the
Cityscapes label ids as category ids; 8 things (``hasInstances``), 11
stuff. A segment's id is its ``instanceIds`` value: ``label * 1000 + k``
for an instance, the label id for a stuff region and for a thing's group
region (instance id < 1000, e.g. ``car group``), which becomes a crowd
segment (``iscrowd: 1``) of its class. Labels not evaluated (``unlabeled``,
``ego vehicle``, ``caravan``, ``trailer``, ...) become void (id 0). The
``labelIds`` image must agree with the labels of ``instanceIds``
(checked). The label table is cityscapesScripts'
``helpers/labels.py`` (MIT License, Copyright (c) 2022 The Cityscapes
Authors), copied as data, so the package is not a dependency.

The layout differs from ``createPanopticImgs`` where MMDetection needs it:
image ids are integers (1, 2, ... in file order), an image's ``file_name``
is ``<city>/<prefix>_leftImg8bit.png`` (relative to
``leftImg8bit/<split>/``), and its PNG is ``<prefix>_leftImg8bit.png``
directly under ``cityscapes_panoptic_<split>/`` (the prefix holds the
city: names are unique), where MMDetection's ``CocoPanopticMetric`` looks
for it (by the image's base name, as
:class:`~personlab_mm.datasets.CrowdAwareCocoPanopticDataset` does). The
categories list the things first (MMDetection numbers the classes in the
json's order and takes the first ones for the things), so a dataset
config reads::

    dict(type='CrowdAwareCocoPanopticDataset',
         data_root='data/cityscapes/',
         ann_file='gtFine/cityscapes_panoptic_train.json',
         data_prefix=dict(img='leftImg8bit/train/',
                          seg='gtFine/cityscapes_panoptic_train/'),
         metainfo=dict(classes=THING_CLASSES + STUFF_CLASSES,
                       thing_classes=THING_CLASSES,
                       stuff_classes=STUFF_CLASSES))

with the two tuples of this module. A malformed PNG stops the tool with
its file and the offending id; a split's json is written only once all of
its images are converted. The last line printed is JSON: images, segments
per category and crowd segments per split.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from collections import namedtuple
from contextlib import nullcontext
from multiprocessing import Pool
from typing import List, Sequence, Tuple

import numpy as np
import pycocotools.mask as mask_utils
from panopticapi.utils import id2rgb
from PIL import Image

from .segments import segments_of

Label = namedtuple('Label', 'name id category has_instances evaluated color')

#: cityscapesScripts' label table (helpers/labels.py), less trainId / catId.
LABELS = (
    Label('unlabeled', 0, 'void', False, False, (0, 0, 0)),
    Label('ego vehicle', 1, 'void', False, False, (0, 0, 0)),
    Label('rectification border', 2, 'void', False, False, (0, 0, 0)),
    Label('out of roi', 3, 'void', False, False, (0, 0, 0)),
    Label('static', 4, 'void', False, False, (0, 0, 0)),
    Label('dynamic', 5, 'void', False, False, (111, 74, 0)),
    Label('ground', 6, 'void', False, False, (81, 0, 81)),
    Label('road', 7, 'flat', False, True, (128, 64, 128)),
    Label('sidewalk', 8, 'flat', False, True, (244, 35, 232)),
    Label('parking', 9, 'flat', False, False, (250, 170, 160)),
    Label('rail track', 10, 'flat', False, False, (230, 150, 140)),
    Label('building', 11, 'construction', False, True, (70, 70, 70)),
    Label('wall', 12, 'construction', False, True, (102, 102, 156)),
    Label('fence', 13, 'construction', False, True, (190, 153, 153)),
    Label('guard rail', 14, 'construction', False, False, (180, 165, 180)),
    Label('bridge', 15, 'construction', False, False, (150, 100, 100)),
    Label('tunnel', 16, 'construction', False, False, (150, 120, 90)),
    Label('pole', 17, 'object', False, True, (153, 153, 153)),
    Label('polegroup', 18, 'object', False, False, (153, 153, 153)),
    Label('traffic light', 19, 'object', False, True, (250, 170, 30)),
    Label('traffic sign', 20, 'object', False, True, (220, 220, 0)),
    Label('vegetation', 21, 'nature', False, True, (107, 142, 35)),
    Label('terrain', 22, 'nature', False, True, (152, 251, 152)),
    Label('sky', 23, 'sky', False, True, (70, 130, 180)),
    Label('person', 24, 'human', True, True, (220, 20, 60)),
    Label('rider', 25, 'human', True, True, (255, 0, 0)),
    Label('car', 26, 'vehicle', True, True, (0, 0, 142)),
    Label('truck', 27, 'vehicle', True, True, (0, 0, 70)),
    Label('bus', 28, 'vehicle', True, True, (0, 60, 100)),
    Label('caravan', 29, 'vehicle', True, False, (0, 0, 90)),
    Label('trailer', 30, 'vehicle', True, False, (0, 0, 110)),
    Label('train', 31, 'vehicle', True, True, (0, 80, 100)),
    Label('motorcycle', 32, 'vehicle', True, True, (0, 0, 230)),
    Label('bicycle', 33, 'vehicle', True, True, (119, 11, 32)),
)  # ('license plate', -1) cannot appear in the PNGs
THING_CLASSES = tuple(
    lb.name for lb in LABELS if lb.evaluated and lb.has_instances)
STUFF_CLASSES = tuple(
    lb.name for lb in LABELS if lb.evaluated and not lb.has_instances)
EVALUATED = np.array([lb.evaluated for lb in LABELS])
HAS_INSTANCES = np.array([lb.has_instances for lb in LABELS])
SUFFIX = '_gtFine_instanceIds.png'


class ConversionError(ValueError):
    """An input the converter cannot turn into a panoptic set."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--gtfine-dir', required=True,
                        help='the Cityscapes gtFine folder')
    parser.add_argument('--out-dir', default=None,
                        help='where the jsons and PNG folders go (default: '
                        '--gtfine-dir)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--nproc', type=int, default=1,
                        help='worker processes')
    return parser.parse_args(argv)


def categories() -> List[dict]:
    """The 19 evaluated labels, things first, as COCO panoptic categories
    (ids: Cityscapes label ids)."""
    labels = sorted((lb for lb in LABELS if lb.evaluated),
                    key=lambda lb: (not lb.has_instances, lb.id))
    return [
        dict(id=lb.id, name=lb.name, supercategory=lb.category,
             isthing=int(lb.has_instances), color=list(lb.color))
        for lb in labels
    ]


def read_ids(path: str) -> np.ndarray:
    """A single-channel id PNG as an (H, W) int64 array."""
    try:
        with Image.open(path) as img:
            ids = np.array(img)
    except (OSError, ValueError) as e:
        raise ConversionError(f'{path}: not a readable PNG ({e})') from None
    if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
        raise ConversionError(f'{path}: not a single-channel id image '
                              f'(array of shape {ids.shape}, {ids.dtype})')
    return ids.astype(np.int64)


def find_images(gtfine_dir: str, split: str) -> List[Tuple[str, str]]:
    """``(city, prefix)`` of each ``instanceIds`` PNG of the split,
    sorted."""
    pattern = osp.join(gtfine_dir, split, '*', '*' + SUFFIX)
    files = sorted(glob.glob(pattern))
    if not files:
        raise ConversionError(f'{pattern}: no file matches')
    return [(osp.basename(osp.dirname(f)), osp.basename(f)[:-len(SUFFIX)])
            for f in files]


def check_ids(inst: np.ndarray, labels: np.ndarray, inst_path: str,
              label_path: str) -> Tuple[np.ndarray, np.ndarray]:
    """The distinct instance ids and their label ids, checked; raises naming
    the file and the id for an unknown label, an instance of a label
    without instances, or ``labelIds`` pixels that disagree."""
    if inst.shape != labels.shape:
        raise ConversionError(f'{label_path}: shape {labels.shape}, not '
                              f'{inst.shape} as {inst_path}')
    ids = np.unique(inst)
    label_of = np.where(ids >= 1000, ids // 1000, ids)
    for value, label in zip(ids, label_of):
        if not 0 <= label < len(LABELS):
            raise ConversionError(f'{inst_path}: id {value} is no Cityscapes '
                                  f'label (label id {label})')
        if value >= 1000 and not HAS_INSTANCES[label]:
            raise ConversionError(
                f'{inst_path}: id {value} is an instance of label {label} '
                f'({LABELS[label].name}), which has no instances')
    wrong = np.where(inst >= 1000, inst // 1000, inst) != labels
    if wrong.any():
        y, x = (int(v[0]) for v in np.nonzero(wrong))
        raise ConversionError(
            f'{label_path}: {int(wrong.sum())} pixels disagree with '
            f'{inst_path}, e.g. (x, y) = ({x}, {y}): label id '
            f'{labels[y, x]}, instance id {inst[y, x]}')
    return ids, label_of


def instance_annotations(index: np.ndarray, ids: np.ndarray,
                         segments: List[dict], image_id: int) -> List[dict]:
    """COCO instance annotations (compressed RLE) of an image's thing
    segments, crowd ones with ``iscrowd=1``; ids ``image_id * 1000 + k``.

    Args:
        index (np.ndarray): (H, W) index into ``ids`` of every pixel.
        ids (np.ndarray): Sorted segment ids of the image.
        segments (List[dict]): Its ``segments_info``.
        image_id (int): The image's id.
    """
    things = [s for s in segments if HAS_INSTANCES[s['category_id']]]
    annotations = []
    for k, s in enumerate(things, 1):
        mask = index == np.searchsorted(ids, s['id'])
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        annotations.append(dict(
            id=image_id * 1000 + k, image_id=image_id,
            category_id=s['category_id'], iscrowd=s['iscrowd'],
            area=s['area'], bbox=s['bbox'],
            segmentation=dict(size=list(rle['size']),
                              counts=rle['counts'].decode())))
    return annotations


def convert_image(task: Tuple) -> Tuple[dict, dict, int, List[dict]]:
    """One image's panoptic PNG (written), image entry, annotation entry,
    void pixel count and instance annotations (:func:`instance_annotations`).

    ``task``: ``(gtfine_dir, split, city, prefix, image_id, png_dir)``.
    """
    gtfine_dir, split, city, prefix, image_id, png_dir = task
    stem = osp.join(gtfine_dir, split, city, prefix + '_gtFine_')
    inst = read_ids(stem + 'instanceIds.png')
    ids, label_of = check_ids(inst, read_ids(stem + 'labelIds.png'),
                              stem + 'instanceIds.png', stem + 'labelIds.png')
    index = np.searchsorted(ids, inst)
    keep = EVALUATED[label_of]
    segments = [
        dict(id=int(ids[i]), category_id=int(label_of[i]),
             iscrowd=int(bool(HAS_INSTANCES[label_of[i]] and ids[i] < 1000)),
             area=area, bbox=bbox)
        for i, area, bbox in segments_of(index, len(ids)) if keep[i]
    ]
    png_name = f'{prefix}_leftImg8bit.png'
    path = osp.join(png_dir, png_name)
    os.makedirs(png_dir, exist_ok=True)
    Image.fromarray(id2rgb(np.where(keep, ids, 0)[index])).save(path)
    height, width = inst.shape
    image = dict(id=image_id, file_name=f'{city}/{png_name}', height=height,
                 width=width)
    entry = dict(image_id=image_id, file_name=png_name,
                 segments_info=segments)
    return (image, entry, int((~keep[index]).sum()),
            instance_annotations(index, ids, segments, image_id))


def convert_split(gtfine_dir: str, split: str, out_dir: str,
                  nproc: int = 1) -> dict:
    """Writes one split's json and PNGs; returns its summary."""
    found = find_images(gtfine_dir, split)
    name = f'cityscapes_panoptic_{split}'
    png_dir = osp.join(out_dir, name)
    tasks = ((gtfine_dir, split, city, prefix, i, png_dir)
             for i, (city, prefix) in enumerate(found, 1))
    images, annotations, instances, void = [], [], [], 0
    with (Pool(nproc) if nproc > 1 else nullcontext()) as pool:
        results = (pool.imap(convert_image, tasks, chunksize=4)
                   if pool else map(convert_image, tasks))
        for done, (image, entry, void_pixels, things) in enumerate(results,
                                                                   1):
            images.append(image)
            annotations.append(entry)
            instances.extend(things)
            void += void_pixels
            if done % 100 == 0:
                print(f'{split}: {done}/{len(found)} images', flush=True)
    cats = categories()
    out_json = osp.join(out_dir, name + '.json')
    with open(out_json + '.tmp', 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=cats), f)
    os.replace(out_json + '.tmp', out_json)
    instances_json = osp.join(out_dir, f'cityscapes_instances_{split}.json')
    with open(instances_json + '.tmp', 'w') as f:
        json.dump(dict(images=images, annotations=instances,
                       categories=[c for c in cats if c['isthing']]), f)
    os.replace(instances_json + '.tmp', instances_json)
    names = {c['id']: c['name'] for c in cats}
    segments = dict.fromkeys(names.values(), 0)
    crowd = 0
    for entry in annotations:
        for info in entry['segments_info']:
            segments[names[info['category_id']]] += 1
            crowd += info['iscrowd']
    return dict(images=len(images), json=out_json, png_dir=png_dir,
                instances_json=instances_json,
                segments=segments, crowd_segments=crowd,
                void_pixels=void)


def convert(gtfine_dir: str, out_dir: str, splits: Sequence[str],
            nproc: int = 1) -> dict:
    """All splits; every split's images are found before anything is
    written."""
    for split in splits:
        find_images(gtfine_dir, split)
    os.makedirs(out_dir, exist_ok=True)
    return {s: convert_split(gtfine_dir, s, out_dir, nproc) for s in splits}


def main(argv=None):
    args = parse_args(argv)
    if not osp.isdir(args.gtfine_dir):
        sys.exit(f'--gtfine-dir {args.gtfine_dir} is not a folder')
    if args.nproc < 1:
        sys.exit(f'--nproc must be at least 1, not {args.nproc}')
    try:
        summary = convert(args.gtfine_dir, args.out_dir or args.gtfine_dir,
                          args.splits, args.nproc)
    except ConversionError as e:
        sys.exit(f'error: {e}')
    for split, counts in summary.items():
        things = sum(counts['segments'][n] for n in THING_CLASSES)
        print(f'{split}: {counts["images"]} images, {things} thing segments '
              f'({counts["crowd_segments"]} crowd), '
              f'{sum(counts["segments"].values()) - things} stuff '
              f'segments: {counts["json"]}, PNGs in {counts["png_dir"]}')
    print(json.dumps(dict(splits=summary)))


if __name__ == '__main__':
    main()
