"""COCO-style dataset over the embedded synthetic people."""
import os.path as osp
from typing import Optional

from mmpose.datasets.datasets.body import CocoDataset
from mmpose.registry import DATASETS

from ..synthetic import ensure_split
from .loading_record import RecordsLoadingSample


@DATASETS.register_module()
class PersonLabSyntheticDataset(RecordsLoadingSample, CocoDataset):
    """MMPose ``CocoDataset`` over the embedded synthetic split, generated
    on first use.

    The files (``annotations/person_keypoints_{split}.json`` and
    ``images/{split}/``) are written under ``data_root`` by
    :func:`personlab_mm.datasets.synthetic.ensure_split` if they are missing
    or were generated with other settings; afterwards this behaves exactly
    like ``CocoDataset`` (17 COCO keypoints, same metainfo), so the same
    pipelines, metrics and tools apply (and, as
    :class:`RecordsLoadingSample`, names the sample a dead data-loader
    worker was loading).

    Args:
        split (str): ``'train'``, ``'val'`` or another name (own seed).
        num_images (int, optional): Images in the split. Defaults to 256 for
            train and 32 for val.
        seed (int, optional): Generator seed. Defaults to a fixed per-split
            seed.
        data_root (str): Where the split lives. Defaults to
            ``'data/personlab_synthetic'``.
        **kwargs: Everything else ``CocoDataset`` takes (``data_mode``,
            ``pipeline``, ``test_mode``, ...). ``ann_file`` and
            ``data_prefix`` are set from ``split``.
    """

    def __init__(self,
                 split: str = 'train',
                 num_images: Optional[int] = None,
                 seed: Optional[int] = None,
                 data_root: str = 'data/personlab_synthetic',
                 **kwargs) -> None:
        for key in ('ann_file', 'data_prefix'):
            if key in kwargs:
                raise ValueError(f'PersonLabSyntheticDataset sets {key} from '
                                 f'split={split!r}; do not pass {key}')
        ann_file = ensure_split(data_root, split, num_images, seed)
        self.split = split
        super().__init__(
            ann_file=osp.relpath(ann_file, data_root),
            data_root=data_root,
            data_prefix=dict(img=f'images/{split}/'),
            **kwargs)
