"""COCO panoptic dataset over the embedded synthetic panoptic set."""
import os.path as osp
from typing import Optional

from mmdet.registry import DATASETS

from ..synthetic.panoptic import (DEFAULT_PANOPTIC_ROOT, ensure_panoptic_split,
                                  panoptic_metainfo)
from .coco_panoptic import CrowdAwareCocoPanopticDataset


@DATASETS.register_module()
class SyntheticPanopticDataset(CrowdAwareCocoPanopticDataset):
    """:class:`CrowdAwareCocoPanopticDataset` over the embedded synthetic
    panoptic split (things ``person``, ``ball``, ``box``; stuff ``sky``,
    ``grass``, ``wall``), generated on first use.

    The files are written under ``data_root`` by
    :func:`personlab_mm.datasets.synthetic.ensure_panoptic_split` if they
    are missing or were generated with other settings; ``ann_file``,
    ``data_prefix`` (``img`` and ``seg``) and the metainfo (``classes`` =
    thing classes then stuff classes, ``thing_classes``,
    ``stuff_classes``, ``palette``) are set here. :attr:`files` holds the
    split's paths.

    Metrics: ``annotations/panoptic_{split}.json`` with the PNG folder
    ``annotations/panoptic_{split}/`` are for ``CocoPanopticMetric``
    (``ann_file`` and ``seg_prefix``: always give ``ann_file`` with this
    dataset, see :class:`CrowdAwareCocoPanopticDataset`), and
    ``annotations/instances_{split}.json`` (the things as COCO instance
    annotations with RLE masks, crowd regions ``iscrowd=1``) is for
    ``CocoMetric(metric='segm')``. A config points the metrics at these
    fixed paths::

        data_root = 'data/synthetic_panoptic/'
        val_dataloader = dict(
            batch_size=1,
            dataset=dict(type='SyntheticPanopticDataset', split='val',
                         data_root=data_root, test_mode=True,
                         pipeline=test_pipeline))
        val_evaluator = [
            dict(type='CocoPanopticMetric',
                 ann_file=data_root + 'annotations/panoptic_val.json',
                 seg_prefix=data_root + 'annotations/panoptic_val/'),
            dict(type='CocoMetric', metric='segm',
                 ann_file=data_root + 'annotations/instances_val.json'),
        ]

    This works because MMEngine's ``ValLoop`` and ``TestLoop`` build their
    data loader, and so this dataset (which generates the files, under a
    lock, on every rank), before their evaluator, and the metrics read
    ``ann_file`` only when they are built. Outside a ``Runner`` (scripts,
    tests) call ``ensure_panoptic_split(data_root, split, ...)`` before
    building a metric. Use one ``(num_images, seed)`` per ``data_root``
    and split: another setting regenerates the files in place. The
    names above resolve under ``default_scope='mmdet'`` (MMDetection's
    runtime); under ``'mmpose'`` write ``'mmdet.SyntheticPanopticDataset'``
    and so on.

    Args:
        split (str): ``'train'``, ``'val'`` or another name (own seed).
        num_images (int, optional): Images in the split. Defaults to 256 for
            train and 32 for val.
        seed (int, optional): Generator seed. Defaults to a fixed per-split
            seed.
        data_root (str): Where the split lives (a root of its own, not the
            people set's). Defaults to ``'data/synthetic_panoptic'``.
        **kwargs: Everything else ``CocoPanopticDataset`` takes
            (``pipeline``, ``test_mode``, ``filter_cfg``, ``metainfo``
            overrides, ...).
    """

    METAINFO = panoptic_metainfo()

    def __init__(self,
                 split: str = 'train',
                 num_images: Optional[int] = None,
                 seed: Optional[int] = None,
                 data_root: str = DEFAULT_PANOPTIC_ROOT,
                 **kwargs) -> None:
        for key in ('ann_file', 'data_prefix'):
            if key in kwargs:
                raise ValueError(f'SyntheticPanopticDataset sets {key} from '
                                 f'split={split!r}; do not pass {key}')
        self.split = split
        self.files = ensure_panoptic_split(data_root, split, num_images, seed)
        super().__init__(
            ann_file=osp.relpath(self.files.panoptic_json, data_root),
            data_root=data_root,
            data_prefix=dict(
                img=osp.relpath(self.files.image_dir, data_root) + '/',
                seg=osp.relpath(self.files.panoptic_dir, data_root) + '/'),
            **kwargs)
