r"""PanoNet's discriminative (instance embedding) loss (PanoNet, Chen, Wang
and Hebert 2020, Eqs. 2-4, after De Brabandere, Neven and Van Gool 2017).

Per image, with :math:`C` instances (clusters), :math:`N_c` pixels in
cluster :math:`c`, :math:`\mu_c` the mean embedding of cluster :math:`c`
and :math:`[x]_+ = \max(0, x)`:

.. math::

    L_{var} = \frac{1}{C} \sum_c \frac{1}{N_c} \sum_{i \in c}
        [\|\mu_c - x_i\| - \delta_v]_+^2

    L_{dist} = \frac{1}{C(C-1)} \sum_{c_a \neq c_b}
        [2\delta_d - \|\mu_{c_a} - \mu_{c_b}\|]_+^2

    L_{reg} = \frac{1}{C} \sum_c \frac{1}{N_c} [\|\mu_c\| - \delta_r]_+^2

    L = \alpha L_{var} + \beta L_{dist} + \gamma L_{reg}
"""
from typing import Dict

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from torch import Tensor

# (image, id) pairs are relabelled through the key ``b * _ID_BASE + id``;
# ids must be smaller than this (int64 keys stay far from overflow).
_ID_BASE = 2**32
# Squared norms are clamped to this before the square root: the gradient
# of ``sqrt`` at 0 is infinite (NaN after the chain rule), the clamp's is 0.
_SQ_EPS = 1e-12


def _safe_norm(x: Tensor) -> Tensor:
    """L2 norm over the last dim with a finite (zero) gradient at 0.

    Args:
        x (Tensor): (..., D).

    Returns:
        Tensor: (...,) ``sqrt(max(sum(x ** 2), 1e-12))``.
    """
    return x.pow(2).sum(-1).clamp_min(_SQ_EPS).sqrt()


@MODELS.register_module()
class DiscriminativeLoss(nn.Module):
    r"""Discriminative loss for pixel embeddings (PanoNet Eqs. 2-4).

    Pulls each labelled pixel to within ``delta_v`` of its instance's mean
    embedding (:math:`L_{var}`), pushes the means of the instances of an
    image at least ``2 * delta_d`` apart (:math:`L_{dist}`, over ordered
    pairs, i.e. both :math:`(a, b)` and :math:`(b, a)`, divided by
    :math:`C(C-1)`), and keeps the means' norms below ``delta_r``
    (:math:`L_{reg}`). Pixels with instance id 0 (background / stuff,
    void, crowd) are ignored. The means carry gradient (as in De Brabandere
    et al.).

    Regularisation: PanoNet prints Eq. 4 as
    :math:`\frac{1}{C}\sum_c \frac{1}{N_c}[\|\mu_c\| - \delta_r]_+^2`
    (``reg_normalise_by_pixels=True``, the default); with ``False`` it is
    :math:`\frac{1}{C}\sum_c [\|\mu_c\| - \delta_r]_+^2`. De Brabandere's
    original, :math:`\frac{1}{C}\sum_c \|\mu_c\|`, is neither (no margin,
    not squared).

    Batch: the per-image loss is computed for every image with at least one
    instance, and the batch loss is the mean of these over those images
    (each image weighs the same whatever its number of instances or
    pixels). Images without instances contribute nothing; an image with a
    single instance has :math:`L_{dist} = 0` (no pairs) but still counts in
    the mean. If no image of the batch has an instance the loss is
    ``embedding.sum() * 0``: zero, finite, and attached to the graph.

    Everything is vectorised over the instances of the whole batch (no
    Python loop over images or instances). Memory is O(labelled pixels x D)
    plus O(K^2) for the K instances of the batch. Computed in float32 even
    if ``embedding`` is half precision (e.g. under AMP); float64 input is
    kept in float64.

    Norms use ``sqrt(max(|v|^2, 1e-12))``, whose gradient is zero (not NaN)
    at ``v = 0``: with two coincident means the distance term's gradient
    is therefore zero for that pair (any direction would be a valid
    subgradient; nearby, non-coincident means are pushed apart normally).

    Args:
        delta_v (float): Pull margin :math:`\delta_v`. Defaults to 0.25.
        delta_d (float): Push margin :math:`\delta_d`; the hinge is at
            ``2 * delta_d``. Defaults to 1.
        delta_r (float): Regularisation margin :math:`\delta_r`. Defaults
            to 6.
        alpha (float): Weight of :math:`L_{var}`. Defaults to 1.
        beta (float): Weight of :math:`L_{dist}`. Defaults to 1.
        gamma (float): Weight of :math:`L_{reg}`. Defaults to 0.1.
        reg_normalise_by_pixels (bool): Divide each instance's
            regularisation term by its pixel count :math:`N_c`, as printed
            in PanoNet's Eq. 4. Defaults to True.
        loss_weight (float): Multiplier of the total loss. Defaults to 1.
    """

    def __init__(self,
                 delta_v: float = 0.25,
                 delta_d: float = 1.,
                 delta_r: float = 6.,
                 alpha: float = 1.,
                 beta: float = 1.,
                 gamma: float = 0.1,
                 reg_normalise_by_pixels: bool = True,
                 loss_weight: float = 1.) -> None:
        super().__init__()
        for name, value in (('delta_v', delta_v), ('delta_d', delta_d),
                            ('delta_r', delta_r)):
            if value < 0:
                raise ValueError(f'{name} must be >= 0, got {value}')
        self.delta_v = float(delta_v)
        self.delta_d = float(delta_d)
        self.delta_r = float(delta_r)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.gamma = float(gamma)
        self.reg_normalise_by_pixels = bool(reg_normalise_by_pixels)
        self.loss_weight = float(loss_weight)

    def forward(self, embedding: Tensor, instance_ids: Tensor) -> Tensor:
        """
        Args:
            embedding (Tensor): (B, D, H, W) float pixel embeddings.
            instance_ids (Tensor): (B, H, W) integer instance ids: 0 is
                ignored, any positive id (< 2**32, need not be consecutive)
                is an instance of that image.

        Returns:
            Tensor: scalar, ``loss_weight`` times the batch loss
            (float32; float64 for float64 input).
        """
        terms = self.terms(embedding, instance_ids)
        loss = (self.alpha * terms['var'] + self.beta * terms['dist'] +
                self.gamma * terms['reg'])
        return self.loss_weight * loss

    def terms(self, embedding: Tensor,
              instance_ids: Tensor) -> Dict[str, Tensor]:
        """The three terms, unweighted, each averaged over the images of
        the batch with at least one instance.

        Args:
            embedding (Tensor): (B, D, H, W) float pixel embeddings.
            instance_ids (Tensor): (B, H, W) integer instance ids (0:
                ignored).

        Returns:
            dict[str, Tensor]: scalars ``'var'``, ``'dist'`` and
            ``'reg'`` (float32, or float64); all ``embedding.sum() * 0``
            when the batch has no instance.
        """
        self._check(embedding, instance_ids)
        # half / bfloat16 (AMP) -> float32; float64 stays float64
        emb = (embedding if embedding.dtype == torch.float64 else
               embedding.float())
        B, D = emb.shape[:2]
        ids = instance_ids.to(emb.device).long().reshape(B, -1)  # (B, HW)
        labelled = ids > 0  # (B, HW)
        if not bool(labelled.any()):
            zero = emb.sum() * 0
            return dict(var=zero, dist=zero.clone(), reg=zero.clone())

        # (M, D) embeddings of the M labelled pixels, gathered without
        # copying the whole map; rows in (b, pixel) order like nonzero().
        x = emb.flatten(2).transpose(1, 2)[labelled]
        img_of_pixel = labelled.nonzero(as_tuple=True)[0]  # (M,)
        keys = img_of_pixel * _ID_BASE + ids[labelled]
        uniq, cluster = torch.unique(keys, return_inverse=True)  # (K,), (M,)
        K = uniq.numel()
        img_of_cluster = torch.div(uniq, _ID_BASE, rounding_mode='floor')

        # cluster sizes N_c and means mu_c: (K,), (K, D)
        n_pix = torch.bincount(cluster, minlength=K).to(emb.dtype)
        mu = x.new_zeros(K, D).index_add_(0, cluster, x) / n_pix[:, None]

        # instances per image C_b, and which images count: (B,)
        n_inst = torch.bincount(img_of_cluster, minlength=B).to(emb.dtype)
        valid = n_inst > 0

        # L_var: per-pixel hinge, mean per cluster, mean per image.
        pull = (_safe_norm(mu[cluster] - x) - self.delta_v).clamp_min(0)**2
        var_c = x.new_zeros(K).index_add_(0, cluster, pull) / n_pix
        var_b = self._per_image(var_c, img_of_cluster, B) / n_inst.clamp_min(1)

        # L_reg: per-cluster hinge on the norm of the mean.
        reg_c = (_safe_norm(mu) - self.delta_r).clamp_min(0)**2
        if self.reg_normalise_by_pixels:
            reg_c = reg_c / n_pix
        reg_b = self._per_image(reg_c, img_of_cluster, B) / n_inst.clamp_min(1)

        # L_dist: ordered pairs of different clusters of the same image.
        pair = img_of_cluster[:, None] == img_of_cluster[None, :]
        pair.fill_diagonal_(False)  # (K, K)
        ca, cb = pair.nonzero(as_tuple=True)  # (P,), (P,)
        push = (2 * self.delta_d - _safe_norm(mu[ca] - mu[cb])).clamp_min(0)**2
        dist_b = self._per_image(push, img_of_cluster[ca], B)
        dist_b = dist_b / (n_inst * (n_inst - 1)).clamp_min(1)

        # images without instances have zeros in var_b, dist_b and reg_b
        n_valid = valid.sum().to(emb.dtype)
        return dict(var=var_b.sum() / n_valid, dist=dist_b.sum() / n_valid,
                    reg=reg_b.sum() / n_valid)

    @staticmethod
    def _per_image(values: Tensor, image: Tensor, num_images: int) -> Tensor:
        """Sum ``values`` (N,) per image index ``image`` (N,) -> (B,)."""
        return values.new_zeros(num_images).index_add_(0, image, values)

    @staticmethod
    def _check(embedding: Tensor, instance_ids: Tensor) -> None:
        """Validate shapes, dtypes and id range; raise ``ValueError`` /
        ``TypeError``."""
        e_shape, i_shape = tuple(embedding.shape), tuple(instance_ids.shape)
        if (embedding.dim() != 4 or instance_ids.dim() != 3
                or e_shape[:1] + e_shape[2:] != i_shape):
            raise ValueError(
                'expected embedding (B, D, H, W) and instance_ids (B, H, W), '
                f'got embedding {e_shape} and instance_ids {i_shape}')
        if not embedding.is_floating_point():
            raise TypeError(f'embedding must be floating point, got '
                            f'{embedding.dtype}')
        if instance_ids.is_floating_point() or instance_ids.is_complex():
            raise TypeError(f'instance_ids must be integer, got '
                            f'{instance_ids.dtype}')
        if instance_ids.numel():
            lo, hi = instance_ids.long().aminmax()
            if lo.item() < 0:
                raise ValueError('instance_ids must be >= 0 (0: ignored), '
                                 f'got min {lo.item()}')
            if hi.item() >= _ID_BASE:
                raise ValueError(f'instance_ids must be < 2**32, got max '
                                 f'{hi.item()}')
