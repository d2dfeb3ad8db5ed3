"""Swapping the keypoint set of a whole config."""
import os.path as osp

import pytest
from mmengine.config import Config
from personlab_testing import CONFIGS

from personlab_mm.utils.keypoint_config import set_keypoint_set


def test_every_codec_and_dataset_gets_the_new_keypoint_set():
    cfg = Config.fromfile(osp.join(CONFIGS, 'personlab', 'r101_coco.py'))
    # the codec variable, the head, the train pipeline twice (variable and
    # dataloader)
    assert set_keypoint_set(cfg, 'mmpose::_base_/datasets/crowdpose.py') \
        == 4
    for codec in (cfg.model.head.decoder,
                  cfg.train_dataloader.dataset.pipeline[3].encoder):
        assert osp.isfile(codec.metainfo.from_file)
        assert codec.metainfo.from_file.endswith('crowdpose.py')
        assert codec.tree_edges is None
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.metainfo.from_file.endswith(
            'crowdpose.py')


def test_unknown_metainfo_file():
    cfg = Config.fromfile(osp.join(CONFIGS, 'personlab', 'r101_coco.py'))
    with pytest.raises(FileNotFoundError, match='nope.py'):
        set_keypoint_set(cfg, 'mmpose::_base_/datasets/nope.py')
