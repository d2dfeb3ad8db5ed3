"""DiscriminativeLoss (PanoNet Eqs. 2-4): registry, zero at the optimum,
agreement with a per-instance loop written from the equations, a hand
computed case, finite gradients at the degenerate points, ignored pixels
and bad inputs."""
import math

import pytest
import torch
from mmdet.registry import MODELS

from personlab_mm.models.losses.discriminative_loss import DiscriminativeLoss


def reference_terms(embedding, instance_ids, delta_v=0.25, delta_d=1.,
                    delta_r=6., reg_normalise_by_pixels=True):
    """Plain loops over images and instances, straight from the paper, in
    float64. Returns the batch means of (var, dist, reg) over images with
    at least one instance, or None when there is none."""
    emb = embedding.detach().double()
    per_image = []
    for b in range(emb.shape[0]):
        ids = [int(i) for i in torch.unique(instance_ids[b]) if i > 0]
        if not ids:
            continue
        C = len(ids)
        mus, var, reg = [], 0., 0.
        for i in ids:
            xs = emb[b][:, instance_ids[b] == i].T  # (N_c, D)
            mu = xs.mean(0)
            mus.append(mu)
            d = torch.linalg.norm(xs - mu, dim=1)
            var += ((d - delta_v).clamp_min(0)**2).sum().item() / len(xs)
            r = max(0., torch.linalg.norm(mu).item() - delta_r)**2
            reg += r / len(xs) if reg_normalise_by_pixels else r
        dist = 0.
        for a in range(C):
            for c in range(C):
                if a != c:
                    d = torch.linalg.norm(mus[a] - mus[c]).item()
                    dist += max(0., 2 * delta_d - d)**2
        dist = dist / (C * (C - 1)) if C > 1 else 0.
        per_image.append((var / C, dist, reg / C))
    if not per_image:
        return None
    n = len(per_image)
    return tuple(sum(t[k] for t in per_image) / n for k in range(3))


def random_batch(seed, D=3, H=7, W=9):
    """Four images: ids with gaps (up to 2**31), no instance, one
    instance, many instances."""
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(4, D, H, W, generator=g) * 1.5
    ids = torch.zeros(4, H, W, dtype=torch.long)
    choices = torch.tensor([0, 3, 7, 100000, 2**31])
    ids[0] = choices[torch.randint(0, 5, (H, W), generator=g)]
    # ids[1]: no instance at all
    ids[2, 2:5, 3:8] = 5  # a single instance
    ids[3] = torch.randint(0, 9, (H, W), generator=g) * 11
    return emb, ids


def test_build_from_registry():
    loss = MODELS.build(
        dict(type='DiscriminativeLoss', _scope_='mmdet', gamma=0.5))
    assert isinstance(loss, DiscriminativeLoss)
    assert (loss.delta_v, loss.delta_d, loss.delta_r) == (0.25, 1., 6.)
    assert (loss.alpha, loss.beta, loss.gamma) == (1., 1., 0.5)
    assert loss.reg_normalise_by_pixels and loss.loss_weight == 1.


def test_zero_for_tight_separated_small_clusters():
    loss = DiscriminativeLoss()
    emb = torch.zeros(2, 2, 4, 4)
    ids = torch.zeros(2, 4, 4, dtype=torch.long)
    centres = {1: (0., 0.), 2: (2.5, 0.), 4: (0., 2.5), 9: (-2., -2.)}
    for k, (b, rows) in zip(centres, [(0, 0), (0, 1), (1, 2), (1, 3)]):
        ids[b, rows] = k
        emb[b, :, rows] = torch.tensor(centres[k])[:, None]
    # spread within delta_v = 0.25 of the mean
    emb[:, 0] += torch.tensor([0.2, -0.2, 0.1, -0.1])
    emb[1, :, 0] = 50.  # ignored pixels, far away
    terms = loss.terms(emb, ids)
    assert all(v.item() == 0. for v in terms.values())
    assert loss(emb, ids).item() == 0.


@pytest.mark.parametrize('reg_normalise_by_pixels', [True, False])
@pytest.mark.parametrize('params', [
    dict(),
    dict(delta_v=0.5, delta_d=1.5, delta_r=0.5),
    dict(delta_v=0., delta_d=0.3, delta_r=0.),
])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_matches_loop_reference(seed, params, reg_normalise_by_pixels):
    emb, ids = random_batch(seed)
    cfg = dict(params, reg_normalise_by_pixels=reg_normalise_by_pixels)
    loss = DiscriminativeLoss(alpha=0.7, beta=1.3, gamma=0.2,
                              loss_weight=2., **cfg)
    var, dist, reg = reference_terms(emb, ids, **cfg)
    assert var > 0 and dist > 0
    terms = loss.terms(emb, ids)
    for name, ref in zip(('var', 'dist', 'reg'), (var, dist, reg)):
        assert terms[name].item() == pytest.approx(ref, rel=1e-5, abs=1e-7)
    expected = 2. * (0.7 * var + 1.3 * dist + 0.2 * reg)
    assert loss(emb, ids).item() == pytest.approx(expected, rel=1e-5)


def test_reg_modes_differ_and_are_active():
    emb, ids = random_batch(3)
    emb = emb + 3.  # means away from the origin
    a = DiscriminativeLoss(delta_r=1.).terms(emb, ids)['reg']
    b = DiscriminativeLoss(delta_r=1.,
                           reg_normalise_by_pixels=False).terms(emb, ids)
    assert 0 < a.item() < b['reg'].item()


def test_hand_computed_1d():
    # One image, 1-D embeddings, W = 6:
    #   cluster id 4: x = 0, 1        -> mu = 0.5, |x - mu| = 0.5 each,
    #       hinge (0.5 - 0.25)^2 = 0.0625, mean over 2 pixels = 0.0625
    #   cluster id 9: x = 1.5 (x3)    -> mu = 1.5, |x - mu| = 0 -> 0
    #   L_var = (0.0625 + 0) / 2 = 0.03125
    #   L_dist: |0.5 - 1.5| = 1, (2 - 1)^2 = 1 for both ordered pairs,
    #       2 / (2 * 1) = 1
    #   L_reg with delta_r = 6: |mu| = 0.5, 1.5 < 6 -> 0
    #   L = 1 * 0.03125 + 1 * 1 + 0.1 * 0 = 1.03125
    # With delta_r = 1: hinges 0 and (1.5 - 1)^2 = 0.25,
    #   per pixel: (0 / 2 + 0.25 / 3) / 2 = 1 / 24;  not: 0.25 / 2 = 0.125
    emb = torch.tensor([0., 1., 1.5, 1.5, 1.5, 100.]).reshape(1, 1, 1, 6)
    ids = torch.tensor([4, 4, 9, 9, 9, 0]).reshape(1, 1, 6)
    loss = DiscriminativeLoss()
    terms = loss.terms(emb, ids)
    assert terms['var'].item() == pytest.approx(0.03125)
    assert terms['dist'].item() == pytest.approx(1.)
    assert terms['reg'].item() == 0.
    assert loss(emb, ids).item() == pytest.approx(1.03125)
    reg = DiscriminativeLoss(delta_r=1.).terms(emb, ids)['reg']
    assert reg.item() == pytest.approx(1 / 24)
    reg = DiscriminativeLoss(
        delta_r=1., reg_normalise_by_pixels=False).terms(emb, ids)['reg']
    assert reg.item() == pytest.approx(0.125)
    # batch mean over images with instances: add an empty image and a
    # single-instance image with loss 0 -> (1.03125 + 0) / 2
    emb2 = torch.cat([emb, torch.zeros(2, 1, 1, 6)])
    ids2 = torch.cat([ids, torch.zeros(1, 1, 6, dtype=torch.long),
                      torch.tensor([[[0, 0, 0, 2, 2, 0]]])])
    assert loss(emb2, ids2).item() == pytest.approx(1.03125 / 2)


@pytest.mark.parametrize('value', [0., 0.7, 10.])
def test_gradient_single_instance_at_its_mean(value):
    # all labelled pixels equal the mean: var 0, no pairs; reg active only
    # for value 10 (|mu| = 10 * sqrt(2) > 6); at 0 the norm of mu is 0.
    emb = torch.zeros(1, 2, 3, 3)
    ids = torch.zeros(1, 3, 3, dtype=torch.long)
    ids[0, :2] = 7
    emb[:, :, :2] = value
    emb[:, :, 2] = torch.randn(2, 3)  # ignored
    emb.requires_grad_()
    loss = DiscriminativeLoss()
    out = loss(emb, ids)
    out.backward()
    assert torch.isfinite(emb.grad).all()
    assert (emb.grad[:, :, 2] == 0).all()  # ignored pixels
    if value < 6 / math.sqrt(2):
        assert out.item() == 0. and (emb.grad == 0).all()
    else:
        # L = 0.1 / N (|mu| - 6)^2, dL/dx_i = 0.1 / N * 2 (|mu| - 6)
        #     * mu / |mu| / N, N = 6
        norm = value * math.sqrt(2)
        assert out.item() == pytest.approx(0.1 / 6 * (norm - 6)**2)
        g = 0.1 / 6 * 2 * (norm - 6) * (value / norm) / 6
        assert torch.allclose(emb.grad[:, :, :2],
                              torch.full((1, 2, 2, 3), g))


def test_gradient_zero_instances():
    emb = torch.randn(2, 4, 5, 5, requires_grad=True)
    ids = torch.zeros(2, 5, 5, dtype=torch.long)
    loss = DiscriminativeLoss()
    out = loss(emb, ids)
    assert out.item() == 0. and out.dim() == 0 and out.requires_grad
    out.backward()
    assert emb.grad is not None and (emb.grad == 0).all()
    terms = loss.terms(emb.detach(), ids)
    assert all(v.item() == 0. for v in terms.values())


def test_gradient_coincident_means():
    # two instances whose means are both the origin: dist hinge = 2,
    # L_dist = (4 + 4) / 2 = 4; pixels at distance 1 from the mean:
    # L_var = (1 - 0.25)^2 = 0.5625
    emb = torch.zeros(1, 2, 2, 2)
    emb[0, :, 0, 0] = torch.tensor([1., 0.])
    emb[0, :, 0, 1] = torch.tensor([-1., 0.])
    emb[0, :, 1, 0] = torch.tensor([0., 1.])
    emb[0, :, 1, 1] = torch.tensor([0., -1.])
    ids = torch.tensor([[[1, 1], [2, 2]]])
    emb.requires_grad_()
    terms = DiscriminativeLoss().terms(emb, ids)
    assert terms['dist'].item() == pytest.approx(4.)
    assert terms['var'].item() == pytest.approx(0.5625)
    total = sum(terms.values())
    grad, = torch.autograd.grad(total, emb, retain_graph=True)
    assert torch.isfinite(grad).all() and (grad != 0).any()
    grad, = torch.autograd.grad(terms['dist'], emb)
    assert torch.isfinite(grad).all()


def test_nearly_coincident_means_are_pushed_apart():
    emb = torch.zeros(1, 1, 1, 2)
    emb[0, 0, 0, 1] = 1e-3
    ids = torch.tensor([[[1, 2]]])
    emb.requires_grad_()
    dist = DiscriminativeLoss().terms(emb, ids)['dist']
    dist.backward()
    # d = 1e-3, L = (2 - d)^2: dL/dx2 = -2 (2 - d) < 0, dL/dx1 = -dL/dx2
    assert emb.grad[0, 0, 0, 1].item() == pytest.approx(-2 * (2 - 1e-3))
    assert emb.grad[0, 0, 0, 0].item() == pytest.approx(2 * (2 - 1e-3))


def test_ignored_pixels_do_not_matter():
    emb, ids = random_batch(5)
    loss = DiscriminativeLoss(delta_r=0.5)
    base = loss(emb, ids)
    emb2 = emb.clone()
    emb2[(ids == 0)[:, None].expand_as(emb)] = 1e4
    assert torch.equal(loss(emb2, ids), base)
    emb2.requires_grad_()
    loss(emb2, ids).backward()
    assert (emb2.grad[(ids == 0)[:, None].expand_as(emb)] == 0).all()


def test_half_precision_input_computed_in_float32():
    emb, ids = random_batch(6)
    loss = DiscriminativeLoss()
    out = loss(emb.half(), ids)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(loss(emb.half().float(), ids).item())


def test_bad_inputs():
    loss = DiscriminativeLoss()
    with pytest.raises(ValueError, match=r'\(2, 3, 4, 5\).*\(2, 5, 4\)'):
        loss(torch.zeros(2, 3, 4, 5), torch.zeros(2, 5, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r'\(2, 4, 5\).*\(2, 1, 4, 5\)'):
        loss(torch.zeros(2, 4, 5), torch.zeros(2, 1, 4, 5, dtype=torch.long))
    ids = torch.zeros(2, 4, 5, dtype=torch.long)
    ids[1, 2, 3] = -1
    with pytest.raises(ValueError, match='>= 0'):
        loss(torch.zeros(2, 3, 4, 5), ids)
    with pytest.raises(TypeError, match='integer'):
        loss(torch.zeros(2, 3, 4, 5), torch.zeros(2, 4, 5))


@pytest.mark.parametrize('reg_normalise_by_pixels', [True, False])
def test_gradcheck_float64(reg_normalise_by_pixels):
    emb, ids = random_batch(7, D=2, H=4, W=5)
    loss = DiscriminativeLoss(delta_r=0.5, gamma=0.3,
                              reg_normalise_by_pixels=reg_normalise_by_pixels)
    emb = emb.double().requires_grad_()
    assert loss(emb, ids).dtype == torch.float64
    assert torch.autograd.gradcheck(lambda e: loss(e, ids), (emb, ))
