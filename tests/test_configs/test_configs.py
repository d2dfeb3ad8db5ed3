"""Every config: inherits configs/_base_, has a unique basename and builds
its model. Pose configs (MMPose side) are MMPose inference-ready
(``data_mode``) and use the keypoint set and test_cfg keys the components
accept; segmentation configs (MMDetection side) run in MMDetection's scope
with its visualizer and load panoptic annotations with the checked
loader."""
import glob
import os.path as osp

import pytest
from mmdet.registry import DATASETS
from mmdet.registry import MODELS as DET_MODELS
from mmengine.config import Config
from mmpose.registry import MODELS
from personlab_testing import COCO_METAINFO, CONFIGS

from personlab_mm.structures import KeypointSet

METHOD_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, '*', '*.py')))
METHOD_CONFIGS = [c for c in METHOD_CONFIGS if '_base_' not in c]
#: MMDetection-side method folders
SEGMENTATION_METHODS = ('panoptic_deeplab', 'panonet')
POSE_CONFIGS = [c for c in METHOD_CONFIGS
                if osp.basename(osp.dirname(c)) not in SEGMENTATION_METHODS]
SEGMENTATION_CONFIGS = [c for c in METHOD_CONFIGS if c not in POSE_CONFIGS]


def test_basenames_are_unique():
    names = [osp.basename(p) for p in glob.glob(
        osp.join(CONFIGS, '**', '*.py'), recursive=True)]
    assert len(names) == len(set(names)), sorted(names)


@pytest.mark.parametrize('path', POSE_CONFIGS, ids=osp.basename)
def test_pose_config(path):
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


@pytest.mark.parametrize('path', SEGMENTATION_CONFIGS, ids=osp.basename)
def test_segmentation_config(path):
    with open(path) as f:
        assert '_base_' in f.read()
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet'
    assert cfg.visualizer.type == 'DetLocalVisualizer'
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline = cfg[loader].dataset.pipeline
        assert 'LoadCheckedPanopticAnnotations' in [t.type for t in pipeline]
    # building loads no weights (init_weights does)
    model = DET_MODELS.build(dict(cfg.model, _scope_='mmdet'))
    head = model.head
    # the head predicts the classes of the config's datasets
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        meta = dataset.get('metainfo') or DATASETS.get(dataset.type).METAINFO
        assert head.num_classes == len(meta['classes']), loader
        assert head.decoder.num_things == len(meta['thing_classes']), loader
