"""A deterministic synthetic multi-person dataset in COCO keypoint format.

Each image shows several articulated stick people (torso, head, limbs drawn
as thick segments) that overlap and occlude each other on a cluttered
background, plus, at random, a crowd region of tiny people annotated with
``iscrowd=1`` and small people annotated with a mask but no keypoints, as in
COCO. Segmentations are the *visible* part of each person and are stored as
polygons, compressed RLE or uncompressed RLE in turn, so every mask path is
exercised. The same ``(split, num_images, seed)`` always gives byte-identical
files; nothing is downloaded.

Layout written under ``root``::

    annotations/person_keypoints_{split}.json
    images/{split}/{image_id:06d}.jpg

The panoptic set (:mod:`.panoptic`, drawing in :mod:`.panoptic_scene`)
reuses the people drawing: stuff bands (sky, grass, wall) under people,
balls and boxes, at random a crowd region of tiny people as one ``person``
segment with ``iscrowd=1``, and thin void scribbles, written as COCO
panoptic (PNGs and json) plus COCO instance annotations of the things;
deterministic in the same way and generated on first use under the same
lock and stamp protocol (:func:`.splits.ensure_generated`).

Command line: ``tools/dataset_converters/generate_synthetic.py``
(``--panoptic`` for the panoptic set).
"""
from .panoptic import (DEFAULT_PANOPTIC_ROOT, DEFAULT_PANOPTIC_SIZES,
                       PanopticSplitFiles, ensure_panoptic_split,
                       generate_panoptic_split)
from .panoptic import main as panoptic_main
from .panoptic import panoptic_metainfo, panoptic_split_files
from .panoptic_scene import (PANOPTIC_CATEGORIES, PANOPTIC_GENERATOR_VERSION,
                             make_panoptic_scene)
from .people import (COCO_KEYPOINT_NAMES, COCO_SKELETON_1BASED,
                     GENERATOR_VERSION, make_crowd_scene, make_scene)
from .splits import (DEFAULT_SIZES, ensure_generated, ensure_split,
                     generate_split, main)

__all__ = [
    'COCO_KEYPOINT_NAMES', 'COCO_SKELETON_1BASED', 'GENERATOR_VERSION',
    'make_crowd_scene', 'make_scene', 'DEFAULT_SIZES', 'ensure_split',
    'generate_split', 'main', 'ensure_generated', 'DEFAULT_PANOPTIC_ROOT',
    'DEFAULT_PANOPTIC_SIZES', 'PanopticSplitFiles', 'ensure_panoptic_split',
    'generate_panoptic_split', 'panoptic_main', 'panoptic_metainfo',
    'panoptic_split_files', 'PANOPTIC_CATEGORIES',
    'PANOPTIC_GENERATOR_VERSION', 'make_panoptic_scene'
]
