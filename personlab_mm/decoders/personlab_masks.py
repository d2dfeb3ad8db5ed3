"""PersonLab's instance masks from the geometric embedding (Sec. 3.2,
Eq. 6), composed from :func:`personlab_mm.functional.assign_pixels`."""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..functional import assign_pixels, near_cells, sample_points, select


def person_terms(keypoints: Tensor, keypoint_probs: Tensor, scales: Tensor,
                 dtype: torch.dtype) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """What Eq. 6 needs per person, made safe for non-finite inputs.

    Returns:
        tuple: keypoints (J, K, 2) with NaN moved far away, weights ``p_k``
        (J, K) in [0, 1], ``sum_k p_k * lambda_j`` (J,) and whether a person
        can own pixels at all (J,) bool.
    """
    weights = torch.nan_to_num(keypoint_probs.to(dtype), nan=0.).clamp(0, 1)
    norm = weights.sum(dim=1)  # (J,)
    usable = (norm > 0) & torch.isfinite(scales) & (scales > 0)
    scale_norm = (norm.clamp(min=1e-12) * scales).clamp(min=1e-12)
    kp = torch.nan_to_num(keypoints.to(dtype), nan=1e8)
    return kp, weights, scale_norm, usable


def embedding_distances(ex: Tensor, ey: Tensor, keypoints: Tensor,
                        weights: Tensor, scale_norm: Tensor) -> Tensor:
    r"""Eq. 6: :math:`D_{i,j} = \frac{\sum_k p_k(y_{j,k}) \|x_i + L_k(x_i)
    - y_{j,k}\|}{\lambda_j \sum_k p_k(y_{j,k})}`.

    Args:
        ex (Tensor): (K, P) x of the embeddings ``x_i + L_k(x_i)``.
        ey (Tensor): (K, P) their y.
        keypoints (Tensor): (J, K, 2) from :func:`person_terms`.
        weights (Tensor): (J, K). scale_norm (Tensor): (J,).

    Returns:
        Tensor: (J, P) relative distances.
    """
    dist = ((ex[None] - keypoints[..., 0, None])**2 +
            (ey[None] - keypoints[..., 1, None])**2).sqrt()  # (J, K, P)
    return (weights[..., None] * dist).sum(1) / scale_norm[:, None]


def cell_distances(segmentation: Tensor, long_offsets: Tensor,
                   stride: float, keypoints: Tensor, weights: Tensor,
                   scale_norm: Tensor, seg_threshold: float,
                   fixed: bool = False) -> Tensor:
    """(J, H, W) Eq. 6 distances at the cells within one cell of a person
    cell (all that bilinear sampling at person pixels can read; every cell
    when ``fixed``); +inf elsewhere."""
    H, W = segmentation.shape
    J = keypoints.shape[0]
    dtype = segmentation.dtype
    cells = select(near_cells(segmentation >= seg_threshold).view(-1),
                   fixed)[0]
    D = segmentation.new_full((J, H * W), float('inf'))
    cy = (cells // W).to(dtype) * stride
    cx = (cells % W).to(dtype) * stride
    L = long_offsets.reshape(-1, 2, H * W)[:, :, cells]  # (K, 2, C)
    D[:, cells] = embedding_distances(cx[None] + L[:, 0], cy[None] + L[:, 1],
                                      keypoints, weights, scale_norm)
    return D.view(J, H, W)


def person_masks(segmentation: Tensor,
                 long_offsets: Tensor,
                 stride: float,
                 keypoints: Tensor,
                 keypoint_probs: Tensor,
                 scales: Tensor,
                 valid: Optional[Tensor],
                 image_to_input: Tensor,
                 image_hw: Tuple[int, int],
                 seg_threshold: float = 0.5,
                 distance_threshold: float = 0.25,
                 mode: str = 'grid',
                 axis_aligned: bool = False,
                 fixed: bool = False) -> Tensor:
    r"""Person masks on the original image grid (Eq. 6).

    Every image pixel is mapped into the network input, where the person
    probability is sampled (bilinear); a person pixel :math:`x_i`
    (:math:`p_S \ge` ``seg_threshold``) is given to every person ``j`` with
    :math:`D_{i,j} \le t` (:func:`embedding_distances`). The assignment is
    non-exclusive (a pixel may join several people) and pixels close to
    nobody stay unassigned.

    ``mode='pixel'`` evaluates ``D`` at every person pixel (long-range
    offsets sampled there): cost ``J * K`` per pixel. ``mode='grid'``
    evaluates ``D`` once per output cell next to the person region and
    interpolates it bilinearly at the pixels: cost ``J`` per pixel, and,
    since ``x + L(x)`` is itself the bilinear interpolation of the cells'
    embeddings, the interpolated ``D`` only over-estimates the exact one
    (by the convexity of the norm) where neighbouring cells disagree, i.e.
    at borders between people.

    Args:
        segmentation (Tensor): (H, W) person probabilities.
        long_offsets (Tensor): (K, 2, H, W) refined long-range offsets.
        stride (float): Stride of the maps.
        keypoints (Tensor): (J, K, 2) people, input pixels.
        keypoint_probs (Tensor): (J, K) ``p_k(y_{j,k})``.
        scales (Tensor): (J,) ``lambda_j``.
        valid (Tensor, optional): (J,) bool; invalid people (padding) get
            empty masks.
        image_to_input (Tensor): (2, 3) affine from image to input pixels,
            on the device of the maps.
        image_hw (Tuple[int, int]): Output mask size ``(h, w)``.
        seg_threshold (float): Person probability threshold.
        distance_threshold (float): t.
        mode (str): ``'grid'`` or ``'pixel'``.
        axis_aligned (bool): The affine only scales and shifts.
        fixed (bool): Fixed shapes (grid mode; see
            :mod:`personlab_mm.functional.shapes`).

    Returns:
        Tensor: (J, h, w) bool masks.
    """
    if mode not in ('grid', 'pixel'):
        raise ValueError(f"mode must be 'grid' or 'pixel', got {mode!r}")
    dtype = long_offsets.dtype
    K = long_offsets.shape[0]
    A = image_to_input.to(device=long_offsets.device, dtype=dtype)
    seg = segmentation.to(dtype)
    kp, weights, scale_norm, usable = person_terms(keypoints, keypoint_probs,
                                                   scales, dtype)
    owners = usable if valid is None else valid & usable
    if mode == 'grid':
        D_cells = cell_distances(seg, long_offsets, stride, kp, weights,
                                 scale_norm, seg_threshold, fixed)

        def distance(x: Tensor, y: Tensor) -> Tensor:
            return sample_points(D_cells, x / stride, y / stride)
    else:
        flat_longs = long_offsets.reshape(2 * K, *long_offsets.shape[-2:])

        def distance(x: Tensor, y: Tensor) -> Tensor:
            longs = sample_points(flat_longs, x / stride, y / stride)
            return embedding_distances(x[None] + longs[0::2],
                                       y[None] + longs[1::2], kp, weights,
                                       scale_norm)

    return assign_pixels(seg, stride, distance, owners, A, image_hw,
                         seg_threshold, distance_threshold,
                         axis_aligned=axis_aligned, fixed=fixed)
