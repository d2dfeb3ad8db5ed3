import torch
from mmpose.registry import MODELS


def _build(cfg):
    return MODELS.build(cfg)


def test_offset_loss_zero_for_exact_offsets_and_positive_otherwise():
    loss = _build(dict(type='PersonLabOffsetLoss', radius=32.))
    target = torch.randn(2, 6, 5, 5) * 50
    weight = (torch.rand(2, 3, 5, 5) > 0.3).float()
    assert loss(target.clone(), target, weight).item() == 0.
    pred = target.clone()
    pred[weight.repeat_interleave(2, dim=1) > 0] += 3.
    value = loss(pred, target, weight).item()
    # each valid position is off by 3 px in x and in y: (3 + 3) / 32
    assert abs(value - 6. / 32.) < 1e-5


def test_offset_loss_ignores_zero_weight_positions():
    loss = _build(dict(type='PersonLabOffsetLoss', radius=32.,
                       loss_weight=0.25))
    target = torch.randn(1, 4, 6, 6) * 10
    weight = torch.zeros(1, 2, 6, 6)
    weight[..., :3, :] = 1
    pred = target + torch.randn_like(target)
    base = loss(pred, target, weight)
    pred2 = pred.clone()
    pred2[..., 3:, :] += 1000.  # only ignored rows change
    assert torch.allclose(loss(pred2, target, weight), base)
    assert base.item() > 0
    # nothing to supervise: zero, and still differentiable
    p = pred.clone().requires_grad_()
    z = loss(p, target, torch.zeros_like(weight))
    z.backward()
    assert z.item() == 0 and p.grad.abs().sum() == 0


def test_logistic_loss_falls_as_logits_approach_targets():
    loss = _build(dict(type='PersonLabLogisticLoss', loss_weight=4.))
    target = (torch.rand(2, 17, 8, 8) > 0.8).float()
    weight = torch.ones(2, 1, 8, 8)
    values = []
    for scale in (0., 1., 3., 10., 30.):
        logits = (target * 2 - 1) * scale
        values.append(loss(logits, target, weight).item())
    assert all(a > b for a, b in zip(values, values[1:]))
    assert values[0] > 2.7 and values[-1] < 1e-10  # 4 * log(2), ~0


def test_logistic_loss_ignores_masked_pixels():
    loss = _build(dict(type='PersonLabLogisticLoss'))
    target = (torch.rand(1, 3, 8, 8) > 0.5).float()
    logits = torch.randn(1, 3, 8, 8)
    weight = torch.ones(1, 1, 8, 8)
    weight[..., :4] = 0
    base = loss(logits, target, weight)
    logits2 = logits.clone()
    logits2[..., :4] = -target[..., :4] * 100 + 50  # maximally wrong there
    assert torch.allclose(loss(logits2, target, weight), base)
