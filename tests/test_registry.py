"""Every component builds from its registry name, in MMPose's scope and,
with the ``mmpose.`` prefix, from an MMDetection-scoped config."""
import pytest
from mmengine.registry import DefaultScope
from personlab_testing import codec_cfg

CODEC = codec_cfg(input_size=(65, 65), output_stride=8)
COMPONENTS = [
    ('KEYPOINT_CODECS', CODEC),
    ('TRANSFORMS', dict(type='GeneratePersonLabTargets', encoder=CODEC)),
    ('TRANSFORMS', dict(type='PersonLabResize', longest_side=257)),
    ('MODELS', dict(type='PersonLabHead', in_channels=8, decoder=CODEC)),
    ('MODELS', dict(type='PersonLabLogisticLoss')),
    ('MODELS', dict(type='PersonLabOffsetLoss', radius=16.)),
    ('MODELS',
     dict(type='PersonLabEstimator',
          backbone=dict(type='ResNet', depth=18, base_channels=8,
                        stem_channels=8, strides=(1, 2, 2, 1),
                        dilations=(1, 1, 1, 2)),
          head=dict(type='PersonLabHead', in_channels=64, decoder=CODEC))),
    ('METRICS', dict(type='PersonSegmMetric')),
    ('HOOKS', dict(type='SafeCheckpointHook')),
]


@pytest.mark.parametrize('registry,cfg', COMPONENTS,
                         ids=[c['type'] for _, c in COMPONENTS])
def test_builds_in_mmpose_scope(registry, cfg):
    import mmpose.registry as regs
    obj = getattr(regs, registry).build(dict(cfg))
    assert type(obj).__name__ == cfg['type']


# mmdet has no keypoint codec registry; the codec is built by the head and
# the transform, which are tested here
IN_MMDET = [(r, c) for r, c in COMPONENTS if r != 'KEYPOINT_CODECS']


@pytest.mark.parametrize('registry,cfg', IN_MMDET,
                         ids=[c['type'] for _, c in IN_MMDET])
def test_builds_from_an_mmdet_scoped_config(registry, cfg):
    import mmdet.models  # noqa: F401  registers mmdet's modules
    import mmdet.registry as det_regs
    with DefaultScope.overwrite_default_scope('mmdet'):
        obj = getattr(det_regs, registry).build(
            dict(cfg, type='mmpose.' + cfg['type']))
    assert type(obj).__name__ == cfg['type']


def test_synthetic_dataset_builds_and_generates(tmp_path):
    from mmpose.registry import DATASETS
    ds = DATASETS.build(
        dict(type='PersonLabSyntheticDataset', split='val', num_images=3,
             data_root=str(tmp_path), data_mode='bottomup', test_mode=True))
    assert len(ds) == 3
    assert (tmp_path / 'annotations' / 'person_keypoints_val.json').is_file()
    with pytest.raises(ValueError, match='ann_file'):
        DATASETS.build(
            dict(type='PersonLabSyntheticDataset', ann_file='x.json',
                 data_root=str(tmp_path)))
