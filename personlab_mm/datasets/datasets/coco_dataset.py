"""COCO keypoint dataset that checks its annotation file when it loads."""
import json
import math
import os.path as osp
from numbers import Number
from typing import Any, Dict, List, Optional, Tuple

import cv2
from mmengine.fileio import exists, get_local_path
from mmpose.datasets.datasets.body import CocoDataset
from mmpose.registry import DATASETS
from xtcocotools.coco import COCO

from .loading_record import RecordsLoadingSample

CHECK_IMAGES = (None, 'exists', 'decode')


class AnnotationError(ValueError):
    """An annotation file that cannot be used as it is."""


def _is_number(value: Any) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool) and \
        math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@DATASETS.register_module()
class PersonLabCocoDataset(RecordsLoadingSample, CocoDataset):
    """MMPose's ``CocoDataset`` that validates the annotation file at load
    time and fails early, naming the file, the annotation id and the field.

    MMPose's own ``CocoDataset`` silently drops annotations without
    ``keypoints`` or ``bbox`` (a crowd region without ``keypoints`` would
    vanish from the ignore mask), crashes deep in numpy on keypoint arrays
    of the wrong length and fails when an image is first loaded, possibly
    hours into training. This subclass checks, before anything trains:

    - the file exists and is valid JSON with ``images``, ``annotations``
      and ``categories`` lists;
    - images: unique integer ``id``, ``file_name``, positive ``width`` and
      ``height``; the image files exist (``check_images='exists'``) or
      also decode to the annotated size (``check_images='decode'``);
    - categories: at least one with a ``keypoints`` list of the dataset's
      ``num_keypoints`` names; every annotation's ``category_id`` must be
      such a category (``skip_other_categories=True`` skips annotations of
      categories without keypoints instead);
    - annotations: unique integer ``id``, an existing ``image_id``,
      ``keypoints`` of ``3 * num_keypoints`` finite numbers with visibility
      flags 0, 1 or 2 (a missing ``keypoints`` field means an annotation
      without keypoints, e.g. a crowd region; coordinates with only 0
      flags mean a converter lost the flags), ``bbox`` of four finite
      numbers with non-negative size, ``iscrowd`` 0 or 1, finite
      non-negative ``area``, ``segmentation`` as polygons (flat lists with
      an even number of finite coordinates; fewer than three points are
      allowed and cover nothing) or RLE (``counts`` a list of run lengths or
      a string, ``size`` the image's ``[height, width]``).

    A data-loader worker that dies is reported with the sample index and
    image file it was loading (:class:`RecordsLoadingSample`).

    Everything else is ``CocoDataset``: same metainfo, same data lists in
    ``'topdown'`` and ``'bottomup'`` mode (bottom-up training keeps the
    images with at least one annotation, crowd-only images included; test
    mode keeps every image).

    Args:
        check_images (str, optional): ``'exists'`` (default), ``'decode'``
            (read every image once at load time: for small datasets) or
            None.
        skip_other_categories (bool): Skip annotations whose category has
            no keypoints instead of raising. Defaults to False.
        **kwargs: Everything ``CocoDataset`` takes.
    """

    def __init__(self,
                 *args,
                 check_images: Optional[str] = 'exists',
                 skip_other_categories: bool = False,
                 **kwargs) -> None:
        if check_images not in CHECK_IMAGES:
            raise ValueError(f'check_images must be one of {CHECK_IMAGES}, '
                             f'got {check_images!r}')
        self.check_images = check_images
        self.skip_other_categories = skip_other_categories
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------ loading
    def _read_json(self) -> dict:
        """The annotation file as a dict, or an :class:`AnnotationError`."""
        if not exists(self.ann_file):
            raise AnnotationError(
                f'{self.ann_file}: annotation file does not exist')
        with get_local_path(self.ann_file) as local_path:
            try:
                with open(local_path, 'rb') as f:
                    data = json.loads(f.read())
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise AnnotationError(
                    f'{self.ann_file}: malformed annotation JSON: {e}') from e
        if not isinstance(data, dict):
            raise AnnotationError(
                f'{self.ann_file}: expected a COCO JSON object with images, '
                f'annotations and categories, got a {type(data).__name__}')
        for key in ('images', 'annotations', 'categories'):
            if not isinstance(data.get(key), list):
                raise AnnotationError(
                    f'{self.ann_file}: field {key!r} must be a list, got '
                    f'{type(data.get(key)).__name__}')
        return data

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        """Validate the file, then build the instance and image lists as
        ``BaseCocoStyleDataset._load_annotations`` does."""
        data = self._read_json()
        images = self._check_images_field(data['images'])
        keypoint_cats = self._check_categories(data['categories'])
        annotations = []
        seen = set()
        for ann in data['annotations']:
            ann = self._check_annotation(ann, images, keypoint_cats, seen)
            if ann is not None:
                annotations.append(ann)
        data['annotations'] = annotations
        self.coco = COCO()
        self.coco.dataset = data
        self.coco.createIndex()
        self._metainfo['CLASSES'] = self.coco.loadCats(self.coco.getCatIds())

        instance_list, image_list = [], []
        for img_id in self.coco.getImgIds():
            if img_id % self.sample_interval != 0:
                continue
            img = dict(self.coco.loadImgs(img_id)[0])
            img.update(
                img_id=img_id,
                img_path=osp.join(self.data_prefix['img'], img['file_name']))
            image_list.append(img)
            for ann in self.coco.loadAnns(self.coco.getAnnIds(imgIds=img_id)):
                info = self.parse_data_info(
                    dict(raw_ann_info=ann, raw_img_info=img))
                if info:
                    instance_list.append(info)
        return instance_list, image_list

    def load_data_list(self) -> List[dict]:
        """CocoDataset's data list, then the image files are checked."""
        data_list = super().load_data_list()
        if self.check_images is not None:
            sizes = getattr(self, '_image_sizes', {})
            for info in data_list:
                self._check_image_file(info['img_path'],
                                       sizes.get(info['img_id']))
        return data_list

    # --------------------------------------------------------- validation
    def _fail(self, what: str, field: str, problem: str) -> None:
        raise AnnotationError(f'{self.ann_file}: {what}: field {field!r}: '
                              f'{problem}')

    def _check_images_field(self, images: List[Any]) -> Dict[int, dict]:
        """Images by id; checks ids, file names and sizes."""
        by_id = {}
        for i, img in enumerate(images):
            if not isinstance(img, dict):
                self._fail(f'images[{i}]', 'images', 'not an object')
            img_id = img.get('id')
            what = f'image id {img_id}'
            if not _is_int(img_id):
                self._fail(f'images[{i}]', 'id',
                           f'must be an integer, got {img_id!r}')
            if img_id in by_id:
                self._fail(what, 'id', 'duplicate image id')
            if not isinstance(img.get('file_name'), str) or \
                    not img['file_name']:
                self._fail(what, 'file_name', 'missing or not a string')
            for key in ('width', 'height'):
                if not _is_int(img.get(key)) or img[key] <= 0:
                    self._fail(what, key, 'must be a positive integer, got '
                               f'{img.get(key)!r}')
            by_id[img_id] = img
        self._image_sizes = {
            i: (img['height'], img['width'])
            for i, img in by_id.items()
        }
        return by_id

    def _check_categories(self, categories: List[Any]) -> Dict[int, dict]:
        """Categories with the dataset's keypoints, by id."""
        K = self.metainfo['num_keypoints']
        keypoint_cats = {}
        for i, cat in enumerate(categories):
            if not isinstance(cat, dict) or not _is_int(cat.get('id')):
                self._fail(f'categories[{i}]', 'id',
                           'every category needs an integer id')
            names = cat.get('keypoints')
            if names is None:
                continue
            if not isinstance(names, list) or len(names) != K:
                n = len(names) if isinstance(names, list) else names
                self._fail(
                    f"category id {cat['id']} ({cat.get('name')!r})",
                    'keypoints', f'has {n} keypoint names, the dataset '
                    f"({self.metainfo['dataset_name']}) has {K}")
            keypoint_cats[cat['id']] = cat
        if not keypoint_cats:
            self._fail(
                'categories', 'keypoints',
                f'no category defines keypoints (categories: '
                f"{[c.get('name') for c in categories][:10]}); PersonLab "
                'needs a COCO keypoint file (person_keypoints_*.json), not '
                'a detection file (instances_*.json)')
        return keypoint_cats

    def _check_annotation(self, ann: Any, images: Dict[int, dict],
                          keypoint_cats: Dict[int, dict],
                          seen: set) -> Optional[dict]:
        """The annotation, completed (``keypoints`` of a keypoint-less
        annotation), or None when it is skipped."""
        if not isinstance(ann, dict):
            self._fail('annotations', 'annotations',
                       f'entry is a {type(ann).__name__}, not an object')
        ann_id = ann.get('id')
        if not _is_int(ann_id):
            self._fail(f'annotation {str(ann)[:80]}', 'id',
                       f'must be an integer, got {ann_id!r}')
        what = f'annotation id {ann_id}'
        if ann_id in seen:
            self._fail(what, 'id', 'duplicate annotation id')
        seen.add(ann_id)
        img = images.get(ann.get('image_id'))
        if img is None:
            self._fail(what, 'image_id',
                       f"no image with id {ann.get('image_id')!r}")
        if ann.get('category_id') not in keypoint_cats:
            if self.skip_other_categories:
                return None
            self._fail(
                what, 'category_id',
                f"category {ann.get('category_id')!r} has no keypoints "
                f'(keypoint categories: {sorted(keypoint_cats)}); pass '
                'skip_other_categories=True to skip such annotations')
        K = self.metainfo['num_keypoints']
        if 'keypoints' not in ann:
            ann = dict(ann, keypoints=[0] * (3 * K), num_keypoints=0)
        kpts = ann['keypoints']
        if not isinstance(kpts, list) or len(kpts) != 3 * K:
            n = len(kpts) if isinstance(kpts, list) else type(kpts).__name__
            self._fail(what, 'keypoints',
                       f'has {n} values, expected 3 x {K} = {3 * K} '
                       '(x, y, visibility per keypoint)')
        if not all(_is_number(v) for v in kpts):
            self._fail(what, 'keypoints', 'values must be finite numbers')
        flags = set(kpts[2::3])
        if not flags <= {0, 1, 2}:
            self._fail(what, 'keypoints', 'visibility flags must be 0, 1 or '
                       f'2, got {sorted(flags - {0, 1, 2})}')
        if not any(kpts[2::3]) and any(kpts[0::3] + kpts[1::3]):
            self._fail(what, 'keypoints', 'has coordinates but every '
                       'visibility flag is 0 (not labelled): the person '
                       'would never be trained or evaluated on; labelled '
                       'keypoints have flag 1 (hidden) or 2 (visible)')
        bbox = ann.get('bbox')
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(
                _is_number(v) for v in bbox):
            self._fail(what, 'bbox', 'must be [x, y, w, h] of finite '
                       f'numbers, got {bbox!r}')
        if bbox[2] < 0 or bbox[3] < 0:
            self._fail(what, 'bbox', f'negative width or height: {bbox}')
        if ann.get('iscrowd', 0) not in (0, 1):  # True/False compare too
            self._fail(what, 'iscrowd',
                       f"must be 0 or 1, got {ann.get('iscrowd')!r}")
        if 'area' in ann and not (_is_number(ann['area'])
                                  and ann['area'] >= 0):
            self._fail(what, 'area', 'must be a finite non-negative number, '
                       f"got {ann['area']!r}")
        self._check_segmentation(what, ann.get('segmentation'), img)
        return ann

    def _check_segmentation(self, what: str, seg: Any, img: dict) -> None:
        """Polygons or RLE of the image's size (or nothing)."""
        if seg is None:
            return
        if isinstance(seg, dict):
            size, counts = seg.get('size'), seg.get('counts')
            if size != [img['height'], img['width']]:
                self._fail(what, 'segmentation',
                           f'RLE size {size!r} is not the image size '
                           f"[{img['height']}, {img['width']}]")
            if isinstance(counts, list):
                if not all(_is_int(c) and c >= 0 for c in counts):
                    self._fail(what, 'segmentation', 'uncompressed RLE '
                               'counts must be non-negative integers')
                if sum(counts) != size[0] * size[1]:
                    self._fail(what, 'segmentation',
                               f'uncompressed RLE counts sum to '
                               f'{sum(counts)}, expected {size[0] * size[1]}')
            elif not isinstance(counts, str):
                self._fail(what, 'segmentation', 'RLE counts must be a list '
                           f'or a string, got {type(counts).__name__}')
            return
        if not isinstance(seg, list):
            self._fail(what, 'segmentation', 'must be a list of polygons or '
                       f'an RLE object, got {type(seg).__name__}')
        for poly in seg:
            if not isinstance(poly, list) or not all(
                    _is_number(v) for v in poly):
                self._fail(what, 'segmentation', 'a polygon must be a flat '
                           'list of finite numbers, got '
                           f'{str(poly)[:60]}')
            if len(poly) % 2:
                self._fail(what, 'segmentation', 'a polygon has an odd '
                           f'number of coordinates ({len(poly)})')

    def _check_image_file(self, img_path: str,
                          size: Optional[Tuple[int, int]]) -> None:
        """The image exists (and decodes to ``size`` with ``'decode'``)."""
        if not exists(img_path):
            raise FileNotFoundError(
                f'{self.ann_file}: image file {img_path} does not exist')
        if self.check_images != 'decode':
            return
        with get_local_path(img_path) as local_path:
            img = cv2.imread(local_path, cv2.IMREAD_COLOR)
        if img is None:
            raise AnnotationError(
                f'{self.ann_file}: image file {img_path} cannot be decoded '
                '(corrupt or not an image)')
        if size is not None and tuple(img.shape[:2]) != tuple(size):
            raise AnnotationError(
                f'{self.ann_file}: image file {img_path} is '
                f'{img.shape[1]}x{img.shape[0]}, the annotation file says '
                f'{size[1]}x{size[0]}')
