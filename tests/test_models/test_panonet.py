"""PanoNet segmentor and head: built from the registry with MMSegmentation's
ICNet and with a ResNet + FPN, coordinate channels, per-scale outputs,
losses and their gradients, predict outputs in MMDetection's conventions,
the two-stage checkpoint hand-over, non-finite outputs."""
import pytest
import torch
from mmdet.registry import MODELS
from personlab_testing import toy_panonet_cfg as model_cfg
from personlab_testing import toy_panoptic_sample

import personlab_mm  # noqa: F401
from personlab_mm.models.heads import PANONET_FIELDS
from personlab_mm.models.segmentors.panonet import coordinate_channels
from personlab_mm.structures import DenseMaps

NUM_THINGS, NUM_STUFF = 2, 2


def _build(**kw):
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(**kw))
    model.init_weights()
    return model


def test_coordinate_channels_span_each_image():
    xy = coordinate_channels(torch.zeros(2, 3, 4, 6), [(4, 6), (3, 3)])
    assert xy.shape == (2, 2, 4, 6)
    assert torch.allclose(xy[0, 0, 0], torch.linspace(-1, 1, 6))
    assert torch.allclose(xy[0, 1, :, 0], torch.linspace(-1, 1, 4))
    # the second image is 3x3 inside the padded 4x6 input: padding
    # continues the ramp beyond 1
    assert xy[1, 0, 0].tolist() == [-1., 0., 1., 2., 3., 4.]
    assert xy[1, 1, :, 0].tolist() == [-1., 0., 1., 2.]
    whole = coordinate_channels(torch.zeros(1, 3, 5, 5))
    assert whole.min() == -1 and whole.max() == 1


@pytest.mark.parametrize('hw', [(64, 96), (50, 71)])
def test_outputs_per_cascade_scale(hw):
    model = _build().eval()
    logits, embeddings = model._forward(torch.rand(2, 3, *hw))
    assert len(logits) == len(embeddings) == 3
    for t in logits:
        assert t.shape[:2] == (2, NUM_THINGS + NUM_STUFF)
    for t in embeddings:
        assert t.shape[:2] == (2, 6)
    # 1/16, 1/8, 1/4 (the last from the 1/8 fusion, corner-aligned)
    H8 = logits[1].shape[2]
    assert logits[2].shape[2] == 2 * H8 - 1
    assert logits[0].shape[2] < H8


def test_losses_are_finite_and_reach_both_branches():
    model = _build().train()
    inputs = torch.rand(2, 3, 64, 96)
    samples = [toy_panoptic_sample(64, 96),
               toy_panoptic_sample(60, 90, pad_hw=(64, 96))]
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_semantic', 'loss_embedding'}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    params = dict(model.named_parameters())
    for name in ('semantic_backbone.conv_sub1.0.conv.weight',
                 'instance_backbone.conv_sub1.0.conv.weight',
                 'instance_backbone.backbone.stem.0.weight',
                 'semantic_neck.cff_24.conv_low.conv.weight',
                 'head.semantic_heads.0.2.weight',
                 'head.embedding_heads.2.2.weight'):
        grad = params[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    # the semantic loss never reaches the instance branch and vice versa
    assert params['head.embedding_heads.0.2.weight'].grad.abs().sum() > 0


def test_a_batch_without_instances_trains():
    model = _build().train()
    samples = [toy_panoptic_sample(64, 96) for _ in range(2)]
    for sample in samples:
        sample.gt_instances = sample.gt_instances[:0]
    # batch 2: ICNet's pyramid pooling has a 1x1 BN cell per image
    losses = model.loss(torch.rand(2, 3, 64, 96), samples)
    assert losses['loss_embedding'] == 0
    sum(losses.values()).backward()


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


def test_stage_one_checkpoint_loads_into_stage_two_with_zero_coordinates():
    stage1 = _build(coordinates=False).eval()
    stage2 = MODELS.build(model_cfg(coordinates=True)).eval()
    stage2.load_state_dict(stage1.state_dict())
    w = stage2.instance_backbone.conv_sub1[0].conv.weight
    assert w.shape[1] == 5
    assert (w[:, 3:] == 0).all()
    assert torch.equal(w[:, :3],
                       stage1.instance_backbone.conv_sub1[0].conv.weight)
    stem = stage2.instance_backbone.backbone.stem[0].weight
    assert stem.shape[1] == 5 and (stem[:, 3:] == 0).all()
    # stage 2 starts from exactly stage 1's function
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(stage1._forward(x)[1], stage2._forward(x)[1]):
            assert torch.allclose(a, b, atol=1e-5)


def test_resnet_fpn_branches_work_too():
    branch = dict(type='ResNet', depth=18, base_channels=8, stem_channels=8,
                  out_indices=(0, 1, 2), norm_cfg=dict(type='BN'))
    fpn = dict(type='FPN', in_channels=[8, 16, 32], out_channels=16,
               num_outs=3)
    model = MODELS.build(dict(
        model_cfg(), semantic_backbone=branch, semantic_neck=fpn,
        instance_backbone=dict(branch, in_channels=5), instance_neck=fpn,
        head=dict(model_cfg()['head'], feature_strides=(4, 8, 16),
                  output_strides=(4, 8, 16),
                  scale_weights=(1., 0.4, 0.16)))).eval()
    sample = toy_panoptic_sample(64, 96)
    with torch.no_grad():
        out = model.predict(torch.rand(1, 3, 64, 96), [sample])[0]
    assert out.pred_panoptic_seg.sem_seg.shape == (1, 64, 96)
    assert model.head.stride == 4


def test_non_finite_outputs_are_sanitised_before_clustering():
    model = _build().eval()
    head = model.head
    sample = toy_panoptic_sample(21, 29)
    g = torch.Generator().manual_seed(0)
    specials = torch.tensor([float('nan'), float('inf'), -float('inf'),
                             1e30, -1e30, 0.])
    for _ in range(20):
        semantic = torch.randn(1, 4, 6, 8, generator=g)
        embedding = torch.randn(1, 6, 6, 8, generator=g)
        where = torch.rand(embedding.shape, generator=g) < 0.3
        pick = torch.randint(0, len(specials), embedding.shape, generator=g)
        embedding = torch.where(where, specials[pick], embedding)
        maps = DenseMaps(dict(semantic=semantic, embedding=embedding),
                         PANONET_FIELDS, 4)
        result = head.decode(maps, [sample])[0]
        assert result.panoptic.shape == (21, 29)
        assert torch.isfinite(result.scores).all()


def test_configuration_errors_are_clear():
    with pytest.raises(ValueError, match='head.test_cfg'):
        MODELS.build(dict(model_cfg(), test_cfg=dict(bandwidth=1.)))
    with pytest.raises(ValueError, match='one entry per scale'):
        MODELS.build(dict(model_cfg(), head=dict(
            model_cfg()['head'], scale_weights=(1., 0.4))))
    with pytest.raises(ValueError, match='must divide'):
        MODELS.build(dict(model_cfg(), head=dict(
            model_cfg()['head'], output_strides=(16, 8, 3))))
