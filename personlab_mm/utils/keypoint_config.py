"""Swap the keypoint set of a config: every codec, the datasets' metainfo.
"""
import os.path as osp
from typing import Optional, Sequence, Union

from mmengine.config import Config, ConfigDict

#: Codec types whose ``metainfo`` / ``tree_edges`` define a keypoint set.
KEYPOINT_CODECS = ('PersonLabCodec', 'mmpose.PersonLabCodec')


def _walk(node, visit) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, visit)


def set_keypoint_set(cfg: Config,
                     metainfo: str,
                     tree_edges: Union[None, str, Sequence] = None,
                     datasets: Optional[Sequence[str]] = None) -> int:
    """Point every keypoint codec of ``cfg`` (model head, target
    transforms) and the datasets at another keypoint set, in place.

    Args:
        cfg (Config): The config.
        metainfo (str): An MMPose dataset metainfo file (a path,
            ``'mmpose::_base_/datasets/crowdpose.py'`` or MMPose's own
            ``'configs/_base_/datasets/crowdpose.py'``).
        tree_edges (str | Sequence, optional): The kinematic tree; None
            derives it from the metainfo's skeleton.
        datasets (Sequence[str], optional): Dataloaders whose dataset gets
            the metainfo; defaults to train, val and test.

    Returns:
        int: the number of codecs changed.
    """
    from ..structures import resolve_metainfo_file
    metainfo = osp.abspath(resolve_metainfo_file(metainfo))
    changed = []

    def visit(node: dict) -> None:
        if node.get('type') in KEYPOINT_CODECS:
            node['metainfo'] = dict(from_file=metainfo)
            node['tree_edges'] = tree_edges
            changed.append(node)

    _walk(cfg._cfg_dict, visit)
    for name in datasets or ('train_dataloader', 'val_dataloader',
                             'test_dataloader'):
        loader = cfg.get(name)
        if loader and loader.get('dataset') is not None:
            loader.dataset.metainfo = ConfigDict(from_file=metainfo)
    return len(changed)
