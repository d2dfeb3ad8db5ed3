"""MMDetection's COCO panoptic dataset with crowd segments kept as ignored
instances and clear errors for unknown categories."""
import os.path as osp
from typing import List

from mmdet.datasets import CocoPanopticDataset
from mmdet.registry import DATASETS

from .coco_dataset import AnnotationError


class PanopticAnnotationError(AnnotationError):
    """A panoptic annotation (json or PNG) that cannot be used as it is."""


def _own_segments(raw_data_info: dict) -> List[dict]:
    """The raw segments of the image (COCOPanoptic also returns segments
    of other images that share a segment id)."""
    img_id = raw_data_info['raw_img_info']['img_id']
    return [ann for ann in raw_data_info['raw_ann_info']
            if ann['image_id'] == img_id]


@DATASETS.register_module()
class CrowdAwareCocoPanopticDataset(CocoPanopticDataset):
    """``CocoPanopticDataset`` whose crowd thing segments stay instances.

    MMDetection 3.3.0's ``parse_data_info`` marks a crowd thing segment
    ``is_thing=False`` and drops it from ``instances``, so
    ``LoadPanopticAnnotations`` builds no mask for it and ``PackDetInputs``
    gives no ``ignored_instances``: the crowd survives only as its class in
    ``gt_seg_map``. Here every thing segment, crowd or not, is an instance
    in segment order with ``is_thing=True`` (crowd ones with
    ``ignore_flag=1``), so ``LoadPanopticAnnotations`` builds one mask per
    instance and ``PackDetInputs`` puts the crowd masks, boxes and labels
    into ``data_sample.ignored_instances`` and the others into
    ``gt_instances``. Each ``segments_info`` entry also gets ``iscrowd``
    (bool), and ``data_info['skipped_segment_ids']`` lists the segments the
    parent skips (``area <= 0`` or a box side < 1): their pixels are void,
    which :class:`LoadCheckedPanopticAnnotations` accepts.

    A segment whose ``category_id`` is not one of the dataset's classes
    raises :class:`PanopticAnnotationError` naming the annotation file,
    the image and the segment (the parent raises a bare ``KeyError``), and
    so does a segment id used twice in one image.

    Note:
        MMDetection's ``CocoPanopticMetric`` without ``ann_file`` takes
        ``iscrowd`` from ``not is_thing`` and would score crowd regions as
        ordinary segments: give it ``ann_file`` (and ``seg_prefix``) with
        this dataset, so it reads ``iscrowd`` from the json.

    The panoptic PNG of an image is its base name with ``.png`` directly
    under ``data_prefix['seg']`` (MMDetection's dataset keeps the image's
    sub-folders, its ``CocoPanopticMetric`` does not: images in
    sub-folders, as Cityscapes', are found by both only this way).

    With ``filter_cfg=dict(filter_empty_gt=True)``, images whose only
    thing is a crowd region are kept. Everything else (arguments,
    metainfo, ``filter_cfg``, ``test_mode``) is ``CocoPanopticDataset``.
    """

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Parse one image's annotations (see the class docstring).

        Args:
            raw_data_info (dict): ``raw_img_info`` and ``raw_ann_info`` as
                ``load_data_list`` gives them.

        Returns:
            dict: The parent's data info, crowd segments restored.
        """
        segments = _own_segments(raw_data_info)
        self._check_segments(raw_data_info['raw_img_info'], segments)
        data_info = super().parse_data_info(raw_data_info)
        if data_info['seg_map_path'] is not None:
            data_info['seg_map_path'] = osp.join(
                self.data_prefix['seg'],
                osp.basename(data_info['seg_map_path']))
        by_id = {ann['id']: ann for ann in segments}
        parent_instances = iter(data_info['instances'])
        instances = []
        for segment_info in data_info['segments_info']:
            ann = by_id[segment_info['id']]
            iscrowd = bool(ann.get('iscrowd', False))
            segment_info['iscrowd'] = iscrowd
            if not self._isthing(ann['category_id']):
                continue
            segment_info['is_thing'] = True
            if iscrowd:
                instances.append(self._crowd_instance(ann))
            else:
                instances.append(next(parent_instances))
        data_info['instances'] = instances
        kept = {s['id'] for s in data_info['segments_info']}
        data_info['skipped_segment_ids'] = [
            ann['id'] for ann in segments if ann['id'] not in kept]
        return data_info

    def _isthing(self, category_id: int) -> bool:
        """Whether the annotation file marks the category a thing."""
        return bool(self.coco.load_cats(ids=category_id)[0]['isthing'])

    def _crowd_instance(self, ann: dict) -> dict:
        """The instance of a crowd segment (which the parent drops)."""
        x1, y1, w, h = ann['bbox']
        return dict(bbox=[x1, y1, x1 + w, y1 + h],
                    bbox_label=self.cat2label[ann['category_id']],
                    ignore_flag=1)

    def _check_segments(self, img_info: dict, segments: List[dict]) -> None:
        """Known categories and unique segment ids, or a clear error."""
        where = (f'{self.ann_file}: image {img_info["file_name"]!r} '
                 f'(id {img_info["img_id"]})')
        seen = set()
        for ann in segments:
            if ann['id'] in seen:
                raise PanopticAnnotationError(
                    f'{where}: segment id {ann["id"]} is used twice')
            seen.add(ann['id'])
            if ann['category_id'] not in self.cat2label:
                raise PanopticAnnotationError(
                    f'{where}: segment id {ann["id"]} has category_id '
                    f'{ann["category_id"]}, which is not one of the '
                    f'dataset\'s classes; known category ids: '
                    f'{sorted(self.cat2label)}')
