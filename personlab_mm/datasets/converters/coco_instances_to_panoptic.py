"""COCO instance annotations to a COCO-panoptic set of chosen thing classes.

Turns a COCO instance (or keypoint) annotation file into the panoptic format
that MMDetection's ``CocoPanopticDataset`` reads (a json plus one RGB PNG per
image, ids encoded with ``panopticapi.utils.id2rgb``), for Panoptic-DeepLab
or PanoNet-style configs that segment only some thing classes (default:
person):

    python tools/dataset_converters/coco_instances_to_panoptic.py \\
        --ann-file data/coco/annotations/person_keypoints_val2017.json \\
        --out-json data/coco/annotations/person_panoptic_val2017.json \\
        --out-dir data/coco/annotations/person_panoptic_val2017 \\
        [--categories person bicycle ...] [--nproc 2]

What the set holds:

* Things: the chosen categories (the input's ids and names, in its order),
  then one stuff category ``background`` (id: the input's largest category
  id + 1, ``isthing`` 0) on every pixel no chosen-category annotation
  covers, so a semantic head has a background class (void, id 0, is
  ignored in training; this tool never writes it).
* Overlaps (instance masks overlap, panoptic segments cannot): a pixel
  covered by several annotations goes to a non-crowd one before a crowd
  region (crowd regions are coarse, often drawn over people annotated one
  by one), then to the smaller mask (usually the nearer, occluding person;
  larger-wins would erase small people entirely), then to the smaller
  annotation id. The order of the annotations in the file does not matter.
* ``iscrowd: 1`` annotations become crowd segments of their category.
* Annotations of other categories are not read: they neither occlude nor
  get a segment; their pixels are ``background`` (for a person-only set a
  car *is* background).
* An annotation left with no visible pixel (covered by winners, empty, or
  only polygons of fewer than 3 points) is dropped and counted.
* Segment ids per image: 1, 2, ... for the kept annotations in file order,
  then ``background``; ``area`` and ``bbox`` (``[x, y, w, h]``) are those
  of the visible pixels.
* Each PNG is the image's base name with ``.png``, directly under
  ``--out-dir`` (where MMDetection's ``CocoPanopticMetric`` and
  ``CrowdAwareCocoPanopticDataset`` look for it; two images with one base
  name are an error); use ``--out-dir`` as ``data_prefix.seg``. The
  images are not touched; the json keeps the input's ``images`` entries.

Segmentations may be polygons, compressed RLE or uncompressed RLE. Every
chosen-category annotation is checked before anything is written; a
malformed one stops the tool with the file, annotation id and field.

MMDetection metainfo for the default set: ``dict(classes=('person',
'background'), thing_classes=('person',), stuff_classes=('background',))``.
The last line printed is JSON: images, segments per category, crowd and
dropped segments.
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
from collections import defaultdict
from contextlib import nullcontext
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pycocotools.mask as mask_utils
from panopticapi.utils import id2rgb
from PIL import Image

from .segments import segments_of

BACKGROUND = 'background'
BACKGROUND_COLOR = (128, 128, 128)


class ConversionError(ValueError):
    """An input the converter cannot turn into a panoptic set."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ann-file', required=True,
                        help='COCO instance or keypoint annotation json')
    parser.add_argument('--out-json', required=True,
                        help='panoptic annotation json to write')
    parser.add_argument('--out-dir', required=True,
                        help='folder for the panoptic PNGs')
    parser.add_argument('--categories', nargs='+', default=['person'],
                        help='names of the thing categories to keep')
    parser.add_argument('--nproc', type=int, default=1,
                        help='worker processes for the PNGs')
    return parser.parse_args(argv)


def _where(ann_file: str, ann: dict) -> str:
    return (f'{ann_file}: annotation {ann.get("id")} '
            f'(image {ann.get("image_id")})')


def compressed_counts(counts: str) -> List[int]:
    """The run lengths of a COCO compressed RLE string (pycocotools'
    ``rleFrString``); raises ``ValueError`` for a malformed string."""
    runs: List[int] = []
    pos = 0
    while pos < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if pos == len(counts):
                raise ValueError('the string ends inside a number')
            c = ord(counts[pos]) - 48
            if not 0 <= c < 64:
                raise ValueError(f'character {counts[pos]!r} at {pos}')
            value |= (c & 0x1f) << shift
            more = bool(c & 0x20)
            pos += 1
            shift += 5
            if not more and c & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def _is_number(v, kinds=(int, float)) -> bool:
    return (isinstance(v, kinds) and not isinstance(v, bool)
            and math.isfinite(v))


def check_segmentation(ann: dict, image: dict, ann_file: str) -> int:
    """Checks one annotation's segmentation against its image; returns its
    number of degenerate polygon parts (fewer than 3 points, skipped)."""
    where = _where(ann_file, ann)
    if 'segmentation' not in ann:
        raise ConversionError(f'{where}: no segmentation field')
    seg, height, width = ann['segmentation'], image['height'], image['width']
    if isinstance(seg, list):
        for i, poly in enumerate(seg):
            if not isinstance(poly, list) or not all(map(_is_number, poly)):
                raise ConversionError(
                    f'{where}: segmentation[{i}] is not a list of numbers '
                    '(polygons are lists of x, y coordinates)')
            if len(poly) % 2:
                raise ConversionError(f'{where}: segmentation[{i}] has an odd '
                                      f'number of coordinates ({len(poly)})')
        return sum(len(poly) < 6 for poly in seg)
    if not isinstance(seg, dict) or not {'size', 'counts'} <= set(seg):
        raise ConversionError(f'{where}: segmentation is neither a list of '
                              'polygons nor an RLE dict with size and counts')
    if not isinstance(seg['size'], list) or seg['size'] != [height, width]:
        raise ConversionError(
            f'{where}: segmentation.size {seg["size"]} is not the image\'s '
            f'[height, width] = [{height}, {width}]')
    counts = seg['counts']
    if isinstance(counts, str):
        try:
            counts = compressed_counts(counts)
        except ValueError as e:
            raise ConversionError(f'{where}: segmentation.counts is not a '
                                  f'compressed RLE string ({e})') from None
    elif not isinstance(counts, list):
        raise ConversionError(f'{where}: segmentation.counts is neither a '
                              'list nor a compressed RLE string')
    if not all(_is_number(r, int) and r >= 0 for r in counts):
        raise ConversionError(f'{where}: segmentation.counts has a run that '
                              'is not a non-negative integer')
    if sum(counts) != height * width:
        raise ConversionError(
            f'{where}: segmentation.counts sums to {sum(counts)} pixels, not '
            f'height * width = {height * width}')
    return 0


def segmentation_rle(seg, height: int, width: int) -> Optional[dict]:
    """The RLE of a checked polygon / RLE segmentation (None: no polygon of
    3 points or more)."""
    if isinstance(seg, list):
        polys = [p for p in seg if len(p) >= 6]
        if not polys:
            return None
        return mask_utils.merge(mask_utils.frPyObjects(polys, height, width))
    if isinstance(seg['counts'], list):
        return mask_utils.frPyObjects(seg, height, width)
    return dict(size=[height, width], counts=seg['counts'])


def check_images(images: List[dict], ann_file: str) -> Dict[int, dict]:
    """Images by id; raises for a missing / duplicate id, a bad size, or two
    images that would write the same PNG."""
    by_id, png_of = {}, {}
    for i, image in enumerate(images):
        if 'id' not in image:
            raise ConversionError(f'{ann_file}: images[{i}] has no id field')
        where = f'{ann_file}: image {image["id"]}'
        if image['id'] in by_id:
            raise ConversionError(f'{where}: the id appears twice in images')
        for field in ('height', 'width'):
            value = image.get(field)
            if isinstance(value, bool) or not isinstance(value, int) \
                    or value < 1:
                raise ConversionError(
                    f'{where}: {field} is {value!r}, not a positive integer')
        if not isinstance(image.get('file_name'), str):
            raise ConversionError(f'{where}: no file_name field')
        png = png_name(image['file_name'])
        if png in png_of:
            raise ConversionError(f'{where}: its PNG {png} is also image '
                                  f'{png_of[png]}\'s')
        by_id[image['id']] = image
        png_of[png] = image['id']
    return by_id


def png_name(file_name: str) -> str:
    """The PNG of an image: its base name with ``.png`` (where
    ``CocoPanopticMetric`` and ``CrowdAwareCocoPanopticDataset`` look)."""
    return osp.splitext(osp.basename(file_name))[0] + '.png'


def chosen_categories(data: dict, names: Sequence[str],
                      ann_file: str) -> List[dict]:
    """The input's category dicts of ``names``, in the input's order."""
    available = [c['name'] for c in data.get('categories', [])]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ConversionError(f'{ann_file}: categories has no {unknown} '
                              f'(it has {available})')
    if BACKGROUND in names:
        raise ConversionError(f'{ann_file}: category {BACKGROUND!r} cannot '
                              'be a thing; it is the stuff class this tool '
                              'adds')
    return [c for c in data['categories'] if c['name'] in names]


def output_categories(things: List[dict], all_ids: List[int]) -> List[dict]:
    """The things (isthing 1, a fixed colour per id), then background."""
    cats = []
    for cat in things:
        color = np.random.RandomState(cat['id']).randint(0, 256, 3)
        cats.append(dict(id=cat['id'], name=cat['name'],
                         supercategory=cat.get('supercategory', cat['name']),
                         isthing=1, color=[int(c) for c in color]))
    cats.append(dict(id=max(all_ids) + 1, name=BACKGROUND,
                     supercategory=BACKGROUND, isthing=0,
                     color=list(BACKGROUND_COLOR)))
    return cats


def is_crowd(ann: dict) -> int:
    return int(bool(ann.get('iscrowd', 0)))


def convert_image(task: Tuple) -> Tuple[dict, dict]:
    """One image's panoptic PNG (written) and annotation entry, and its
    counts: ``(entry, {'overlap_pixels': n, 'dropped': [category ids]})``.

    ``task``: ``(image, annotations, background_id, out_dir)``; the
    annotations are the image's chosen-category ones, checked.
    """
    image, anns, background_id, out_dir = task
    height, width, n = image['height'], image['width'], len(anns)
    rles = [segmentation_rle(a['segmentation'], height, width) for a in anns]
    areas = [0 if r is None else int(mask_utils.area(r)) for r in rles]
    # priority: non-crowd first, then the smaller mask, then the smaller id
    order = sorted(range(n),
                   key=lambda i: (is_crowd(anns[i]), areas[i], anns[i]['id']))
    masks = np.zeros((height, width, n + 1), np.uint8)
    for k, i in enumerate(order):
        if rles[i] is not None:
            masks[..., k] = mask_utils.decode(rles[i])
    overlap = int((masks[..., :n].sum(axis=2) > 1).sum())
    masks[..., n] = 1  # the background, last in priority
    # each pixel's annotation index (n: background): its first cover
    index = np.asarray(order + [n], np.int64)[masks.argmax(axis=2)]
    del masks
    lut, segments = np.zeros(n + 1, np.int64), []
    for segment_id, (i, area, bbox) in enumerate(segments_of(index, n + 1),
                                                 1):
        lut[i] = segment_id
        category, crowd = ((background_id, 0) if i == n else
                           (anns[i]['category_id'], is_crowd(anns[i])))
        segments.append(dict(id=segment_id, category_id=category,
                             iscrowd=crowd, area=area, bbox=bbox))
    file_name = png_name(image['file_name'])
    path = osp.join(out_dir, file_name)
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(id2rgb(lut[index])).save(path)
    entry = dict(image_id=image['id'], file_name=file_name,
                 segments_info=segments)
    dropped = [a['category_id'] for i, a in enumerate(anns) if not lut[i]]
    return entry, dict(overlap_pixels=overlap, dropped=dropped)


def check_annotations(data: dict, images: Dict[int, dict],
                      cat_ids: Sequence[int], ann_file: str):
    """The chosen-category annotations by image id, all checked; and the
    number of degenerate polygon parts among them."""
    by_image, degenerate, seen = defaultdict(list), 0, set()
    for i, ann in enumerate(data.get('annotations', [])):
        if ann.get('category_id') not in cat_ids:
            continue
        if 'id' not in ann:
            raise ConversionError(f'{ann_file}: annotations[{i}] has no id '
                                  'field')
        if ann['id'] in seen:
            raise ConversionError(f'{_where(ann_file, ann)}: the id appears '
                                  'twice in annotations')
        seen.add(ann['id'])
        if ann.get('image_id') not in images:
            raise ConversionError(f'{_where(ann_file, ann)}: image_id is not '
                                  'the id of any image')
        degenerate += check_segmentation(ann, images[ann['image_id']],
                                         ann_file)
        by_image[ann['image_id']].append(ann)
    return by_image, degenerate


def convert(ann_file: str, out_json: str, out_dir: str,
            categories: Sequence[str] = ('person', ),
            nproc: int = 1) -> dict:
    """Writes the panoptic json and PNGs; returns the summary. Raises
    ``ConversionError`` (before writing anything) for a malformed input."""
    try:
        with open(ann_file) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ConversionError(f'{ann_file}: not a JSON file ({e})') from None
    things = chosen_categories(data, categories, ann_file)
    images = check_images(data.get('images', []), ann_file)
    by_image, degenerate = check_annotations(
        data, images, [c['id'] for c in things], ann_file)
    cats = output_categories(things, [c['id'] for c in data['categories']])
    os.makedirs(out_dir, exist_ok=True)
    tasks = ((image, by_image.get(image['id'], []), cats[-1]['id'], out_dir)
             for image in data['images'])
    annotations, overlap, dropped = [], 0, []
    with (Pool(nproc) if nproc > 1 else nullcontext()) as pool:
        results = (pool.imap(convert_image, tasks, chunksize=16)
                   if pool else map(convert_image, tasks))
        for done, (entry, counts) in enumerate(results, 1):
            annotations.append(entry)
            overlap += counts['overlap_pixels']
            dropped += counts['dropped']
            if done % 1000 == 0:
                print(f'{done}/{len(images)} images', flush=True)
    out = dict(images=data['images'], annotations=annotations,
               categories=cats)
    out.update({k: data[k] for k in ('info', 'licenses') if k in data})
    os.makedirs(osp.dirname(osp.abspath(out_json)), exist_ok=True)
    with open(out_json + '.tmp', 'w') as f:
        json.dump(out, f)
    os.replace(out_json + '.tmp', out_json)
    return summarize(annotations, cats, dropped, degenerate, overlap)


def summarize(annotations: List[dict], cats: List[dict], dropped: List[int],
              degenerate: int, overlap: int) -> dict:
    """The counts the tool prints (its last line, as JSON)."""
    names = {c['id']: c['name'] for c in cats}
    segments = dict.fromkeys(names.values(), 0)
    crowd, without_things = 0, 0
    for entry in annotations:
        infos = entry['segments_info']
        for info in infos:
            segments[names[info['category_id']]] += 1
            crowd += info['iscrowd']
        without_things += not any(info['category_id'] != cats[-1]['id']
                                  for info in infos)
    return dict(
        images=len(annotations), images_without_things=without_things,
        segments=segments, crowd_segments=crowd,
        dropped_segments=len(dropped),
        dropped_per_category={
            names[c]: dropped.count(c) for c in sorted(set(dropped))},
        degenerate_polygons=degenerate, overlap_pixels=overlap)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.ann_file):
        sys.exit(f'--ann-file {args.ann_file} does not exist')
    if args.nproc < 1:
        sys.exit(f'--nproc must be at least 1, not {args.nproc}')
    try:
        summary = convert(args.ann_file, args.out_json, args.out_dir,
                          args.categories, args.nproc)
    except ConversionError as e:
        sys.exit(f'error: {e}')
    print(f'{summary["images"]} images of {args.ann_file} '
          f'({summary["images_without_things"]} without things): '
          f'{args.out_json}, PNGs in {args.out_dir}')
    for name, count in summary['segments'].items():
        print(f'  {name}: {count} segments')
    print(f'  crowd segments: {summary["crowd_segments"]}; dropped (no '
          f'visible pixel left): {summary["dropped_per_category"]}')
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
