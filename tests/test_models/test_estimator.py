"""PersonLabEstimator: test-time output stride, flip, multi-scale, outputs in
image space; PersonLabResize; the generic head.predict path."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.registry import MODELS, TRANSFORMS
from mmpose.structures import PoseDataSample
from personlab_testing import codec_cfg

from personlab_mm.functional import input_affine_from_meta
from personlab_mm.models.utils.atrous import resnet_output_stride

CODEC = codec_cfg(input_size=(65, 65), output_stride=16, radius=16.)


def _model(**test_cfg):
    model = MODELS.build(
        dict(
            type='PersonLabEstimator',
            data_preprocessor=dict(type='PoseDataPreprocessor'),
            backbone=dict(type='ResNet', depth=18, base_channels=8,
                          stem_channels=8, strides=(1, 2, 2, 1),
                          dilations=(1, 1, 1, 2), out_indices=(2, 3)),
            head=dict(type='PersonLabHead', in_channels=64,
                      intermediate_in_channels=32, intermediate_feat_index=0,
                      feat_index=1, decoder=CODEC),
            test_cfg=test_cfg))
    model.init_weights()
    # a confident random model: many candidate people
    torch.nn.init.constant_(model.head.predictor.heatmap.bias, 2.)
    torch.nn.init.constant_(model.head.predictor.segmentation.bias, 2.)
    return model.eval()


def _sample(img_hw, input_hw):
    resize = TRANSFORMS.build(
        dict(type='PersonLabResize', longest_side=max(input_hw),
             size_divisor=8))
    res = resize(dict(img=np.zeros((*img_hw, 3), np.uint8),
                      img_shape=img_hw))
    sample = PoseDataSample(metainfo=dict(
        ori_shape=img_hw, input_size=res['input_size'],
        input_center=res['input_center'], input_scale=res['input_scale'],
        batch_input_shape=res['img'].shape[:2]))
    return sample, res['img'].shape[:2]


def test_resize_is_corner_aligned_and_invertible():
    resize = TRANSFORMS.build(
        dict(type='PersonLabResize', longest_side=1401, size_divisor=8))
    res = resize(dict(img=np.zeros((427, 640, 3), np.uint8),
                      img_shape=(427, 640)))
    w, h = res['input_size']
    assert res['img'].shape[:2] == (h, w)
    assert w == 1401 and (h - 1) % 8 == 0 and h >= 426 * 1400 / 639
    A = input_affine_from_meta(res)
    np.testing.assert_allclose(A @ [639., 426., 1.],
                               [1400., 426 * 1400 / 639], rtol=1e-6)
    np.testing.assert_allclose(A @ [0., 0., 1.], [0., 0.], atol=1e-9)


@pytest.mark.parametrize('test_cfg', [
    dict(),
    dict(output_stride=8),
    dict(output_stride=8, flip_test=True),
    dict(output_stride=8, flip_test=True, multiscale=[49, 97]),
])
def test_predict_outputs_in_image_space(test_cfg):
    model = _model(**test_cfg)
    sample, (h, w) = _sample((60, 90), (65, 65))
    inputs = torch.randn(1, 3, h, w)
    with torch.no_grad():
        out = model.predict(inputs, [sample])[0].pred_instances
    J = len(out.keypoints)
    assert 0 < J <= 20
    assert out.keypoints.shape == (J, 17, 2)
    assert out.keypoint_scores.shape == (J, 17)
    assert out.bboxes.shape == (J, 4) and out.scores.shape == (J, )
    assert out.masks.shape == (J, 60, 90) and out.masks.dtype == bool
    assert (out.labels == 0).all()
    np.testing.assert_array_equal(out.bbox_scores, out.scores)
    assert np.isfinite(out.keypoints).all()
    # boxes: around the mask in whole image pixels, else the keypoints
    for j in range(J):
        if out.masks[j].any():
            ys, xs = np.nonzero(out.masks[j])
            want = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        else:
            want = [*out.keypoints[j].min(0), *out.keypoints[j].max(0)]
        np.testing.assert_allclose(out.bboxes[j], want, atol=1e-6)
    # the backbone and head are back at the training stride
    assert resnet_output_stride(model.backbone) == 16
    assert model.head.output_stride == 16


def test_output_stride_changes_the_grid_not_the_weights():
    model = _model(output_stride=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    inputs = torch.randn(1, 3, 65, 65)
    samples = [PoseDataSample(metainfo=dict(batch_input_shape=(65, 65)))]
    with torch.no_grad(), model.test_stride() as stride:
        maps = model.head.fused_maps(model.pyramid(inputs, stride), samples,
                                     model.test_cfg)
    assert maps.grid_hw == (9, 9) and maps.stride == 8
    with torch.no_grad():
        train_grid = model.head(model.extract_feat(inputs))
    assert train_grid.grid_hw == (5, 5)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_decode_with_no_people():
    model = _model()
    sample, (h, w) = _sample((40, 50), (65, 65))
    maps = model.head.predict_maps(model.extract_feat(torch.zeros(1, 3, h,
                                                                  w)))
    maps = maps.replace(heatmaps=maps['heatmaps'] * 0,
                        segmentation=maps['segmentation'] * 0)
    preds = model.head.decode(maps, [sample], model.test_cfg)
    out = model.add_pred_to_datasample(preds, None, [sample])[0]
    out = out.pred_instances
    assert out.keypoints.shape == (0, 17, 2)
    assert out.masks.shape == (0, 40, 50)
    assert out.bboxes.shape == (0, 4)


def test_head_predict_for_generic_bottomup_estimators():
    head = MODELS.build(
        dict(type='PersonLabHead', in_channels=8, decoder=CODEC))
    head.init_weights()
    torch.nn.init.constant_(head.predictor.heatmap.bias, 2.)
    feats = (torch.randn(2, 8, 5, 5), )
    samples = [_sample((50, 60), (65, 65))[0] for _ in range(2)]
    preds = head.predict(feats, samples, dict(flip_test=False))
    assert len(preds) == 2 and isinstance(preds[0], InstanceData)
    J = len(preds[0])
    assert preds[0].keypoints.shape == (J, 17, 2) and J > 0
    assert preds[0].masks.shape == (J, 50, 60)
    flipped = head.predict([feats, feats], samples, dict(flip_test=True))
    assert flipped[0].keypoint_scores.shape[1] == 17
    with pytest.raises(ValueError, match='multiscale'):
        head.predict(feats, samples, dict(multiscale_test=True))


def test_stride_switch_equals_rebuilding_the_strides():
    from personlab_mm.models.utils.atrous import resnet_output_stride_as
    model = _model(output_stride=8)
    inputs = torch.randn(1, 3, 65, 65)

    def switched_maps():
        with model.test_stride():
            return model.head.predict_maps(model.test_features(inputs))

    with torch.no_grad():
        switched = switched_maps()
        switched_again = switched_maps()  # recorded switch
        with resnet_output_stride_as(model.backbone, 8):
            model.head.output_stride = 8
            rebuilt = model.head.predict_maps(model.extract_feat(inputs))
            model.head.output_stride = 16
    for name in rebuilt:
        assert torch.equal(switched[name], rebuilt[name])
        assert torch.equal(switched_again[name], rebuilt[name])
    assert resnet_output_stride(model.backbone) == 16
    assert model.backbone.layer4[0].conv1.dilation == (2, 2)  # stride 16


def test_test_cfg_keys_are_checked():
    with pytest.raises(ValueError, match='amp'):
        _model(amp='float8')
    with pytest.raises(ValueError, match='unknown test_cfg keys'):
        _model(max_poeple=3)
    with pytest.raises(ValueError, match='keypoint_score'):
        _model(keypoint_score='mean').predict(torch.randn(1, 3, 65, 65),
                                              [_sample((60, 90), (65, 65))[0]])


def test_decoding_settings_come_from_test_cfg():
    sample, (h, w) = _sample((60, 90), (65, 65))
    inputs = torch.randn(1, 3, h, w)
    with torch.no_grad():
        few = _model(max_people=2).predict(inputs, [sample.clone()])
        many = _model().predict(inputs, [sample.clone()])
    assert len(few[0].pred_instances) == 2
    assert len(many[0].pred_instances) > 2


def test_test_precision_options_are_cpu_neutral():
    plain, fast = _model(), _model(amp='bf16', channels_last=True)
    fast.load_state_dict(plain.state_dict())
    sample, (h, w) = _sample((60, 90), (65, 65))
    inputs = torch.randn(1, 3, h, w)
    with torch.no_grad():
        a = plain.predict(inputs, [sample.clone()])[0].pred_instances
        b = fast.predict(inputs, [sample.clone()])[0].pred_instances
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.masks, b.masks)
