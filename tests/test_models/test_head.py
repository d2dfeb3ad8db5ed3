import pytest
import torch
from mmpose.registry import MODELS
from personlab_testing import CROWDPOSE_METAINFO, codec_cfg

from personlab_mm.functional import sample_at_offsets
from personlab_mm.models.heads import PersonLabHead
from personlab_mm.models.utils import refine_long_offsets, refine_mid_offsets
from personlab_mm.structures import DenseMaps

CODEC = codec_cfg(input_size=(65, 65), output_stride=8, radius=16.)


def _head(**kw):
    cfg = dict(type='PersonLabHead', in_channels=8, decoder=CODEC)
    cfg.update(kw)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def test_build_and_forward_shapes():
    head = _head(intermediate_in_channels=4)
    assert isinstance(head, PersonLabHead)
    feats = (torch.randn(2, 4, 9, 9), torch.randn(2, 8, 9, 9))
    out = head(feats)
    assert isinstance(out, DenseMaps) and out.stride == 8
    assert out['heatmaps'].shape == (2, 17, 9, 9)
    assert out['short_offsets'].shape == (2, 17, 2, 9, 9)
    assert out['mid_offsets'].shape == (2, 32, 2, 9, 9)
    assert out['long_offsets'].shape == (2, 17, 2, 9, 9)
    assert out['segmentation'].shape == (2, 1, 9, 9)
    assert out.specs['heatmaps'].kind == 'logits'
    maps = head.predict_maps(feats)
    assert maps.specs['heatmaps'].kind == 'probability'
    torch.testing.assert_close(maps['heatmaps'], out['heatmaps'].sigmoid())
    branches = head.forward_train(feats)
    assert [p for p, _ in branches] == ['', 'inter_']


def test_sample_at_offsets_bilinear_and_out_of_grid():
    field = torch.zeros(1, 1, 2, 3, 4)
    field[0, 0, 0] = torch.arange(12.).view(3, 4)  # x channel = 4 * y + x
    offsets = torch.zeros(1, 1, 2, 3, 4)
    offsets[0, 0, 0] = 4.  # +0.5 cell at stride 8
    offsets[0, 0, 1] = 8.  # +1 cell
    out = sample_at_offsets(field, offsets, stride=8)
    # cell (x=0, y=0) samples (0.5, 1): 4 * 1 + 0.5
    assert out[0, 0, 0, 0, 0].item() == pytest.approx(4.5)
    # last row samples outside the grid: zeros padding (blends to 0)
    assert out[0, 0, 0, 2, 0].item() == 0.


def test_refinement_follows_eq2_and_eq5():
    B, K, H, W = 1, 2, 5, 5
    short = torch.zeros(B, K, 2, H, W)
    short[:, 1, 0] = 2.  # every short offset of keypoint 1 says "+2 px x"
    mid = torch.zeros(B, 1, 2, H, W)
    mid[:, 0, 0] = 8.  # one cell to the right
    edge_targets = torch.tensor([1])
    refined = refine_mid_offsets(mid, short, edge_targets, stride=8, steps=2)
    # relative form of Eq. 2: M <- M + S_l(x + M); S is a constant +2 px
    # (inside the grid), so two steps give 8 + 2 + 2
    assert torch.allclose(refined[0, 0, 0, :, :3], torch.tensor(12.))
    assert torch.allclose(refined[0, 0, 1], torch.tensor(0.))
    long = torch.zeros(B, K, 2, H, W)
    long[:, 1, 1] = 8.
    out = refine_long_offsets(long, short, stride=8)
    # cell (0, 0): self steps 8 -> 16 -> 32 (samples rows 1 and 2), then
    # two short steps add +2 px in x each; y stays 32
    assert out[0, 1, 1, 0, 0].item() == pytest.approx(32.)
    assert out[0, 1, 0, 0, 0].item() == pytest.approx(4.)
    # keypoint 0 has zero fields: nothing moves
    assert out[0, 0].abs().sum() == 0


def test_refinement_gradcheck():
    torch.manual_seed(0)
    field = torch.randn(1, 2, 2, 4, 5, dtype=torch.double, requires_grad=True)
    offsets = (torch.randn(1, 2, 2, 4, 5, dtype=torch.double) * 5
               ).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda f, o: sample_at_offsets(f, o, 4.), (field, offsets))


def test_gradients_reach_both_offset_branches():
    head = _head()
    feats = (torch.randn(1, 8, 9, 9), )
    out = head(feats)
    out['mid_offsets'].abs().sum().backward(retain_graph=True)
    assert head.predictor.mid.weight.grad.abs().sum() > 0
    assert head.predictor.short.weight.grad.abs().sum() > 0
    head.zero_grad()
    out['long_offsets'].abs().sum().backward()
    assert head.predictor.long.weight.grad.abs().sum() > 0
    assert head.predictor.short.weight.grad.abs().sum() > 0


def test_channels_follow_the_codecs_keypoint_set():
    head = _head(decoder=codec_cfg(input_size=(65, 65), output_stride=8,
                                   metainfo=CROWDPOSE_METAINFO,
                                   tree_edges=None))
    out = head((torch.randn(1, 8, 9, 9), ))
    assert out['heatmaps'].shape[1] == 14
    assert out['mid_offsets'].shape[1] == 26
    assert 'max_people' in head.test_cfg_keys


def test_head_needs_a_codec():
    with pytest.raises(TypeError, match='decoder'):
        MODELS.build(dict(type='PersonLabHead', in_channels=8))
