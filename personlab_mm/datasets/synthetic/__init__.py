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

Command line: ``tools/dataset_converters/generate_synthetic.py``.
"""
from .people import (COCO_KEYPOINT_NAMES, COCO_SKELETON_1BASED,
                     GENERATOR_VERSION, make_crowd_scene, make_scene)
from .splits import DEFAULT_SIZES, ensure_split, generate_split, main

__all__ = [
    'COCO_KEYPOINT_NAMES', 'COCO_SKELETON_1BASED', 'GENERATOR_VERSION',
    'make_crowd_scene', 'make_scene', 'DEFAULT_SIZES', 'ensure_split',
    'generate_split', 'main'
]
