"""PosePlusSegHead: PersonLab's branches plus the body heat map, the mask
offsets and the refine networks; its losses, gradients, refine loss,
predict path and errors."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from personlab_testing import build_codec, codec_cfg, standing_person

from personlab_mm.codecs import PosePlusSegCodec
from personlab_mm.decoders import PosePlusSegDecoder
from personlab_mm.models.heads import PosePlusSegHead, RefineNet
from personlab_mm.models.losses import PosePlusSegRefineLoss

INPUT, STRIDE, GRID = (65, 65), 8, 9
CODEC = codec_cfg(type='PosePlusSegCodec', input_size=INPUT,
                  output_stride=STRIDE, radius=16.)
PERSONLAB_LOSSES = {'loss/heatmap', 'loss/segmentation', 'loss/short',
                    'loss/mid', 'loss/long'}
POSEPLUSSEG_LOSSES = PERSONLAB_LOSSES | {
    'loss/body_heatmap', 'loss/mask_offset', 'loss/keypoint_refine',
    'loss/mask_refine'}
BRANCHES = ('heatmap', 'short', 'mid', 'long', 'segmentation', 'body',
            'mask')


def _head(**kw):
    cfg = dict(type='PosePlusSegHead', in_channels=8, decoder=CODEC)
    cfg.update(kw)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def _feats(batch=2, inter=None, seed=0):
    """Random features on the 9x9 grid: ``(intermediate, main)`` with an
    intermediate branch of ``inter`` channels, else ``(main, )``."""
    g = torch.Generator().manual_seed(seed)
    main = torch.randn(batch, 8, GRID, GRID, generator=g)
    if inter is None:
        return (main, )
    return (torch.randn(batch, inter, GRID, GRID, generator=g), main)


def _encoded(centres):
    """PosePlusSegCodec targets of standing people (height 40 px) centred
    at ``centres``, each with its box (6 px margin) as its mask."""
    codec = build_codec(type='PosePlusSegCodec', input_size=INPUT,
                        output_stride=STRIDE, radius=16.)
    kp = np.stack([standing_person(cx, cy, 40.) for cx, cy in centres])
    xs, ys = codec.grid_points()
    masks = []
    for p in kp:
        lo, hi = p.min(0) - 6, p.max(0) + 6
        masks.append((xs[None] >= lo[0]) & (xs[None] <= hi[0]) &
                     (ys[:, None] >= lo[1]) & (ys[:, None] <= hi[1]))
    return codec.encode(kp, np.ones(kp.shape[:2]), np.stack(masks))


def _train_samples(drop=None):
    """Two data samples with the codec's targets as ``gt_fields`` (as
    GeneratePersonLabTargets and PackPoseInputs store them), without the
    field ``drop``."""
    samples = []
    for centres in ([(20., 32.), (45., 32.)], [(32., 30.)]):
        enc = _encoded(centres)
        enc.pop(drop, None)
        samples.append(PoseDataSample(gt_fields=PixelData(
            **{k: torch.from_numpy(v) for k, v in enc.items()})))
    return samples


def _test_sample():
    """A 65x65 image fed as is (the metainfo PersonLabResize gives)."""
    scale = np.array(INPUT, dtype=np.float32)
    return PoseDataSample(metainfo=dict(
        ori_shape=INPUT, img_shape=INPUT, input_size=INPUT,
        input_center=scale / 2, input_scale=scale,
        batch_input_shape=INPUT))


def test_codec_targets_have_the_head_target_keys():
    enc = _encoded([(20., 32.), (45., 32.)])
    head = _head()
    assert set(head.target_keys) == set(enc)
    assert enc['body_heatmap'].shape == (1, GRID, GRID)
    assert enc['mask_offsets'].shape == (2, GRID, GRID)
    assert enc['mask_offset_weights'].shape == (1, GRID, GRID)
    # the people's masks are trained: something for the new losses
    assert enc['mask_offset_weights'].sum() > 0
    assert enc['body_heatmap'].max() == 1.


@pytest.mark.parametrize('inter', [None, 4])
def test_forward_shapes(inter):
    head = _head(intermediate_in_channels=inter)
    assert isinstance(head, PosePlusSegHead)
    out = head(_feats(inter=inter))
    assert out['heatmaps'].shape == (2, 17, GRID, GRID)
    assert out['body_heatmap'].shape == (2, 1, GRID, GRID)
    assert out['mask_offsets'].shape == (2, 1, 2, GRID, GRID)
    assert out['heatmaps_refined'].shape == (2, 17, GRID, GRID)
    assert out['segmentation_refined'].shape == (2, 1, GRID, GRID)
    prefixes = [p for p, _ in head.forward_train(_feats(inter=inter))]
    assert prefixes == ([''] if inter is None else ['', 'inter_'])


@pytest.mark.parametrize('inter', [None, 4])
def test_loss_keys_are_personlabs_plus_poseplussegs(inter):
    head = _head(intermediate_in_channels=inter)
    losses = head.loss(_feats(inter=inter), _train_samples())
    want = set(POSEPLUSSEG_LOSSES)
    if inter is not None:
        want |= {k.replace('loss/', 'loss/inter_') for k in want}
    assert set(losses) == want
    for name, value in losses.items():
        assert value.dim() == 0 and torch.isfinite(value), name
    # the refine losses of a random model are positive
    assert losses['loss/keypoint_refine'] > 0
    assert losses['loss/mask_refine'] > 0
    assert losses['loss/mask_offset'] > 0


@pytest.mark.parametrize('inter', [None, 4])
def test_gradients_reach_every_branch(inter):
    head = _head(intermediate_in_channels=inter)
    losses = head.loss(_feats(inter=inter), _train_samples())
    sum(losses.values()).backward()
    predictors = [head.predictor]
    if inter is not None:
        predictors.append(head.intermediate_predictor)
    for predictor in predictors:
        for name in BRANCHES:
            grad = getattr(predictor, name).weight.grad
            assert grad is not None and grad.abs().sum() > 0, name
    for net in (head.keypoint_refine, head.mask_refine):
        assert net.conv.weight.grad.abs().sum() > 0
        assert net.conv.bias.grad.abs().sum() > 0


def test_new_losses_train_their_own_branches():
    head = _head()
    losses = head.loss(_feats(), _train_samples())
    losses['loss/body_heatmap'].backward(retain_graph=True)
    assert head.predictor.body.weight.grad.abs().sum() > 0
    assert head.predictor.mask.weight.grad is None
    head.zero_grad(set_to_none=True)
    losses['loss/mask_offset'].backward(retain_graph=True)
    assert head.predictor.mask.weight.grad.abs().sum() > 0
    assert head.predictor.body.weight.grad is None
    head.zero_grad(set_to_none=True)
    # the refine losses train the refine nets and the branch they refine
    losses['loss/mask_refine'].backward()
    assert head.mask_refine.conv.weight.grad.abs().sum() > 0
    assert head.predictor.segmentation.weight.grad.abs().sum() > 0
    assert head.keypoint_refine.conv.weight.grad is None


def test_refine_loss_is_zero_at_the_targets():
    loss = MODELS.build(dict(type='PosePlusSegRefineLoss', loss_weight=3.))
    assert isinstance(loss, PosePlusSegRefineLoss)
    target = torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(1))
    weight = (target[:, :1] > 0.5).float()
    assert loss(target.clone(), target).item() == 0.
    assert loss(target.clone(), target, weight).item() == 0.


def test_refine_loss_is_the_masked_mean_absolute_difference():
    probs = torch.tensor([[[[0.2, 0.9], [0.5, 1.0]]]])
    target = torch.tensor([[[[0., 1.], [1., 1.]]]])
    # |differences|: 0.2, 0.1, 0.5, 0
    plain = PosePlusSegRefineLoss()
    assert plain(probs, target).item() == pytest.approx(0.8 / 4)
    weight = torch.tensor([[[[1., 1.], [0., 1.]]]])
    # the 0.5 is not weighted: (0.2 + 0.1 + 0) / 3 positions
    assert plain(probs, target, weight).item() == pytest.approx(0.1)
    assert PosePlusSegRefineLoss(loss_weight=2.)(
        probs, target, weight).item() == pytest.approx(0.2)
    # a (B, 1, H, W) weight covers every channel: 2 channels x 3 positions
    probs2 = torch.cat([probs, 1 - probs], dim=1)
    target2 = torch.cat([target, target], dim=1)
    # channel 1 |differences|: 0.8, 0.9, 0.5, 1
    assert plain(probs2, target2, weight).item() == pytest.approx(
        (0.2 + 0.1 + 0. + 0.8 + 0.9 + 1.) / 6)
    # nothing weighted: 0
    assert plain(probs, target, torch.zeros_like(weight)).item() == 0.


@pytest.mark.parametrize('channels', [1, 17])
def test_refine_net_starts_as_the_identity(channels):
    logits = torch.randn(2, channels, 3, 4) * 4
    torch.testing.assert_close(RefineNet(channels)(logits), logits.sigmoid())


def test_predict_maps_read_the_refined_probabilities():
    head = _head()
    feats = _feats(batch=1)
    with torch.no_grad():
        out = head(feats)
        maps = head.predict_maps(feats)
    assert maps.specs['heatmaps'].kind == 'probability'
    # the refine nets start as the identity: the decoded probabilities are
    # the sigmoid of the logits (sigmoid applied once)
    torch.testing.assert_close(maps['heatmaps'], out['heatmaps'].sigmoid())
    torch.testing.assert_close(maps['segmentation'],
                               out['segmentation'].sigmoid())
    torch.testing.assert_close(maps['body_heatmap'],
                               out['body_heatmap'].sigmoid())
    torch.testing.assert_close(maps['mask_offsets'], out['mask_offsets'])
    # init: a low keypoint prior (p = 0.01)
    assert maps['heatmaps'].max() < 0.05


@pytest.mark.parametrize('flip_test', [False, True])
def test_predict_returns_people_with_exclusive_masks(flip_test):
    head = _head()
    # a confident random model: many candidate people
    torch.nn.init.constant_(head.predictor.heatmap.bias, 2.)
    torch.nn.init.constant_(head.predictor.segmentation.bias, 2.)
    feats = _feats()
    samples = [_test_sample(), _test_sample()]
    with torch.no_grad():
        preds = head.predict([feats, feats] if flip_test else feats,
                             samples, dict(flip_test=flip_test))
    assert len(preds) == 2
    for pred in preds:
        assert isinstance(pred, InstanceData)
        J = len(pred)
        assert J > 0
        assert tuple(pred.keypoints.shape) == (J, 17, 2)
        assert tuple(pred.keypoint_scores.shape) == (J, 17)
        assert tuple(pred.bboxes.shape) == (J, 4)
        assert tuple(pred.scores.shape) == (J, )
        assert tuple(pred.masks.shape) == (J, *INPUT)
        masks = np.asarray(pred.masks)
        assert masks.dtype == bool
        # PosePlusSeg's masks are exclusive: a pixel has one person at most
        assert (masks.sum(axis=0) <= 1).all()
        scores = np.asarray(pred.keypoint_scores)
        assert ((scores >= 0) & (scores <= 1)).all()


def test_decoder_for_takes_the_centroid_from_the_codec():
    decoder = _head().decoder_for({})
    assert isinstance(decoder, PosePlusSegDecoder)
    assert decoder.centroid_index is None
    assert decoder.body_boost == 1.
    assert _head().decoder_for(dict(body_boost=0.5)).body_boost == 0.5
    shoulder = _head(decoder=dict(CODEC, centroid='right_shoulder'))
    assert isinstance(shoulder.decoder, PosePlusSegCodec)
    assert shoulder.decoder.centroid_index == 6
    assert shoulder.decoder_for({}).centroid_index == 6


def test_head_needs_a_poseplusseg_codec():
    with pytest.raises(TypeError, match='PosePlusSegCodec'):
        MODELS.build(dict(type='PosePlusSegHead', in_channels=8,
                          decoder=codec_cfg(input_size=INPUT,
                                            output_stride=STRIDE)))


def test_unknown_centroid_lists_the_keypoint_names():
    with pytest.raises(ValueError, match='belly') as info:
        build_codec(type='PosePlusSegCodec', input_size=INPUT,
                    output_stride=STRIDE, centroid='belly')
    message = str(info.value)
    assert 'mask_mean' in message
    for name in build_codec().keypoints.names:
        assert name in message


def test_missing_target_names_the_field():
    head = _head()
    with pytest.raises(KeyError, match='gt_fields.body_heatmap'):
        head.loss(_feats(), _train_samples(drop='body_heatmap'))
    with pytest.raises(KeyError, match='gt_fields.mask_offset_weights'):
        head.loss(_feats(), _train_samples(drop='mask_offset_weights'))
