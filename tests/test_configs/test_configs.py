"""Every config: inherits configs/_base_, builds its model, is MMPose
inference-ready (``data_mode``), has unique basenames, and uses the keypoint
set and test_cfg keys the components accept."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmpose.registry import MODELS
from personlab_testing import COCO_METAINFO, CONFIGS

from personlab_mm.structures import KeypointSet

METHOD_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, '*', '*.py')))
METHOD_CONFIGS = [c for c in METHOD_CONFIGS if '_base_' not in c]


def test_basenames_are_unique():
    names = [osp.basename(p) for p in glob.glob(
        osp.join(CONFIGS, '**', '*.py'), recursive=True)]
    assert len(names) == len(set(names)), sorted(names)


@pytest.mark.parametrize('path', METHOD_CONFIGS, ids=osp.basename)
def test_method_config(path):
    with open(path) as f:
        assert '_base_' in f.read()
    cfg = Config.fromfile(path)
    assert cfg.data_mode == 'bottomup'  # MMPoseInferencer needs it
    assert cfg.visualizer.type == 'PersonLabVisualizer'
    codec = cfg.model.head.decoder
    assert 'decoder' not in codec and codec.metainfo
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.pipeline, loader
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)  # test_cfg keys are checked here
    # the head predicts the keypoints of the config's datasets
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        meta = cfg[loader].dataset.get('metainfo') or COCO_METAINFO
        K = KeypointSet.from_metainfo(meta, 'personlab_coco' if meta ==
                                      COCO_METAINFO else None).num_keypoints
        assert model.head.keypoints.num_keypoints == K, loader
