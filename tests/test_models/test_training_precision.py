"""Training precision and layout as the paper configs ask: bf16
AmpOptimWrapper and channels-last inputs on GPUs, float32 without one."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from personlab_testing import REPO_ROOT, codec_cfg

from personlab_mm.utils.cli import fit_optim_wrapper_to_device

CONFIGS = osp.join(REPO_ROOT, 'configs', 'personlab')


@pytest.mark.parametrize('name', ['r101_coco.py', 'r152_coco.py'])
def test_paper_configs_train_in_bf16_with_channels_last(name):
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.model.train_cfg.channels_last is True


def test_without_a_gpu_amp_configs_train_in_float32(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config.fromfile(osp.join(CONFIGS, 'r101_coco.py'))
    with pytest.warns(UserWarning, match='no GPU here'):
        fit_optim_wrapper_to_device(cfg)
    wrapper = cfg.optim_wrapper
    assert wrapper.type == 'OptimWrapper'
    assert 'dtype' not in wrapper and 'loss_scale' not in wrapper
    # the rest is kept: optimizer and clipping
    assert wrapper.optimizer.type == 'SGD' and wrapper.optimizer.lr == 1e-3
    assert wrapper.clip_grad.max_norm == 35.
    built = build_optim_wrapper(torch.nn.Linear(2, 2), wrapper)
    assert type(built) is OptimWrapper


def test_float32_configs_and_gpu_machines_are_left_alone(monkeypatch):
    cfg = Config.fromfile(osp.join(CONFIGS, 'r18_synthetic.py'))
    before = cfg.optim_wrapper.to_dict()
    fit_optim_wrapper_to_device(cfg)
    assert cfg.optim_wrapper.to_dict() == before
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    amp = Config.fromfile(osp.join(CONFIGS, 'r101_coco.py'))
    fit_optim_wrapper_to_device(amp)
    assert amp.optim_wrapper.type == 'AmpOptimWrapper'
    assert amp.optim_wrapper.dtype == 'bfloat16'


def test_plain_optim_wrapper_drops_the_amp_keys():
    cfg = Config.fromfile(osp.join(CONFIGS, 'r101_coco.py'))
    cfg.merge_from_dict({'optim_wrapper.type': 'OptimWrapper'})
    fit_optim_wrapper_to_device(cfg)
    assert 'dtype' not in cfg.optim_wrapper
    built = build_optim_wrapper(torch.nn.Linear(2, 2), cfg.optim_wrapper)
    assert type(built) is OptimWrapper


def _tiny_estimator(**train_cfg):
    model = MODELS.build(
        dict(
            type='PersonLabEstimator',
            data_preprocessor=dict(type='PoseDataPreprocessor'),
            backbone=dict(type='ResNet', depth=18, base_channels=8,
                          stem_channels=8, out_indices=(3, )),
            head=dict(type='PersonLabHead', in_channels=64,
                      decoder=codec_cfg(input_size=(65, 65),
                                        output_stride=32, radius=16.)),
            train_cfg=train_cfg))
    model.init_weights()
    return model


@pytest.mark.parametrize('channels_last', [False, True])
def test_training_inputs_are_channels_last_only_on_cuda(
        device, channels_last):
    model = _tiny_estimator(channels_last=channels_last).to(device)
    seen = []
    model.backbone.register_forward_pre_hook(
        lambda module, args: seen.append(args[0]))
    inputs = torch.rand(2, 3, 65, 65, device=device)
    with pytest.raises(KeyError, match='gt_fields'):  # no targets given
        model.loss(inputs, [PoseDataSample(), PoseDataSample()])
    expect_cl = channels_last and device == 'cuda'
    assert seen[0].is_contiguous(
        memory_format=torch.channels_last) == expect_cl
    assert torch.equal(seen[0], inputs)
    # the weights keep their layout (DDP buckets, checkpoints, EMA)
    assert model.backbone.conv1.weight.is_contiguous()
