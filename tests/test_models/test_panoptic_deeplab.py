"""PanopticDeepLab segmentor and head: built from the registry, shapes at
any input size, losses and their gradients, predict outputs in
MMDetection's conventions, test output stride, non-finite outputs."""
import pytest
import torch
from mmdet.registry import MODELS
from personlab_testing import toy_panoptic_sample

import personlab_mm  # noqa: F401
from personlab_mm.models.layers import ASPP

NUM_THINGS, NUM_STUFF = 2, 2


def model_cfg(**test_cfg):
    return dict(
        type='PanopticDeepLab',
        _scope_='mmdet',
        data_preprocessor=dict(type='DetDataPreprocessor',
                               mean=[0., 0., 0.], std=[255., 255., 255.]),
        backbone=dict(type='ResNet', depth=18, base_channels=8,
                      stem_channels=8, strides=(1, 2, 2, 1),
                      dilations=(1, 1, 1, 2), out_indices=(0, 1, 3),
                      norm_cfg=dict(type='BN')),
        head=dict(type='PanopticDeepLabHead', in_channels=(8, 16, 64),
                  num_things_classes=NUM_THINGS,
                  num_stuff_classes=NUM_STUFF, aspp_channels=16,
                  aspp_dilations=(1, 2, 3), project_channels=(4, 8),
                  semantic_channels=16, instance_channels=8,
                  instance_head_channels=8,
                  test_cfg=dict(stuff_area=1, threshold=0.05)),
        test_cfg=test_cfg)


def _build(**test_cfg):
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(**test_cfg))
    model.init_weights()
    return model


@pytest.mark.parametrize('hw', [(65, 97), (64, 96), (50, 71)])
def test_outputs_at_stride_4_for_any_input_size(hw):
    model = _build().eval()
    semantic, centre, offsets = model._forward(torch.rand(2, 3, *hw))
    grid = ((hw[0] + 3) // 4, (hw[1] + 3) // 4)
    assert semantic.shape == (2, NUM_THINGS + NUM_STUFF, *grid)
    assert centre.shape == (2, 1, *grid) and offsets.shape == (2, 2, *grid)


def test_aspp_image_pooling_works_for_any_size_and_batch_one():
    aspp = ASPP(4, 6, (1, 2)).eval()
    for hw in ((1, 1), (3, 17), (40, 9)):
        assert aspp(torch.rand(1, 4, *hw)).shape == (1, 6, *hw)


def test_losses_are_finite_and_reach_every_part():
    model = _build().train()
    inputs = torch.rand(2, 3, 65, 97)
    samples = [toy_panoptic_sample(65, 97),
               toy_panoptic_sample(60, 90, pad_hw=(65, 97))]
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_semantic', 'loss_centre', 'loss_offset'}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    for name in ('backbone.conv1.weight',
                 'head.semantic_decoder.aspp.pool_conv.conv.weight',
                 'head.instance_decoder.projections.0.conv.weight',
                 'head.semantic_head.1.weight', 'head.centre_head.1.weight',
                 'head.offset_head.1.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_predict_fills_mmdetection_results_at_the_original_size():
    model = _build().eval()
    sample = toy_panoptic_sample(60, 90, pad_hw=(64, 96))
    sample.set_metainfo(dict(ori_shape=(30, 45), scale_factor=(2., 2.)))
    with torch.no_grad():
        out = model.predict(torch.rand(1, 3, 64, 96), [sample])[0]
    pan = out.pred_panoptic_seg.sem_seg
    assert pan.shape == (1, 30, 45) and pan.dtype == torch.long
    assert out.pred_sem_seg.sem_seg.shape == (1, 30, 45)
    labels = pan % 1000
    assert ((labels < NUM_THINGS + NUM_STUFF) | (labels == 4)).all()
    inst = out.pred_instances
    assert inst.masks.shape[1:] == (30, 45) and inst.masks.dtype == torch.bool
    assert len(inst.labels) == len(inst.scores) == len(inst.bboxes)
    assert (inst.labels < NUM_THINGS).all()


def test_test_output_stride_8_runs_and_restores_the_training_network():
    model = _build(output_stride=8).eval()
    sample = toy_panoptic_sample(64, 96)
    conv = model.backbone.layer4[0].conv1
    before = (conv.stride, conv.dilation)
    rates = model.head.semantic_decoder.aspp.convs[1].conv.dilation
    with torch.no_grad():
        out = model.predict(torch.rand(1, 3, 64, 96), [sample])[0]
    assert out.pred_panoptic_seg.sem_seg.shape == (1, 64, 96)
    assert (conv.stride, conv.dilation) == before
    assert model.head.semantic_decoder.aspp.convs[1].conv.dilation == rates
    with pytest.raises(ValueError, match='must divide'):
        MODELS.build(model_cfg(output_stride=12))


def test_non_finite_outputs_never_crash_post_processing():
    """Fuzz: 500 batches of maps with NaN / +-inf / huge values."""
    model = _build().eval()
    head = model.head
    g = torch.Generator().manual_seed(0)
    specials = torch.tensor([float('nan'), float('inf'), -float('inf'),
                             1e30, -1e30, 0.])
    sample = toy_panoptic_sample(21, 29)
    for _ in range(500):
        maps = head.maps([torch.rand(1, c, *hw, generator=g) for c, hw in (
            (8, (6, 8)), (16, (3, 4)), (64, (2, 2)))])
        tensors = {}
        for name, t in maps.items():
            t = t.detach().clone()
            where = torch.rand(t.shape, generator=g) < 0.3
            pick = torch.randint(0, len(specials), t.shape, generator=g)
            tensors[name] = torch.where(where, specials[pick], t * 5)
        result = head.decode(maps.replace(**tensors), [sample])[0]
        assert result.panoptic.shape == (21, 29)
        assert torch.isfinite(result.scores).all()


def test_flip_and_multiscale_test_run_at_any_size_and_reject_typos():
    model = _build(flip=True, scales=(0.75, 1.0, 1.25)).eval()
    sample = toy_panoptic_sample(50, 71, pad_hw=(64, 80))
    with torch.no_grad():
        out = model.predict(torch.rand(1, 3, 64, 80), [sample])[0]
    assert out.pred_panoptic_seg.sem_seg.shape == (1, 50, 71)
    with pytest.raises(ValueError, match='flip_test'):
        MODELS.build(model_cfg(flip_test=True))
