"""Instance masks from the geometric embedding (PersonLab Sec. 3.2, Eq. 6).
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def _sample(maps: Tensor, gx: Tensor, gy: Tensor) -> Tensor:
    """Bilinear samples of (C, H, W) maps at grid positions -> (C, *gx)."""
    C, H, W = maps.shape
    nx = gx * (2. / max(W - 1, 1)) - 1.
    ny = gy * (2. / max(H - 1, 1)) - 1.
    grid = torch.stack([nx, ny], dim=-1).reshape(1, 1, -1, 2)
    out = F.grid_sample(
        maps[None], grid.to(maps.dtype), mode='bilinear',
        padding_mode='zeros', align_corners=True)
    return out.view(C, *gx.shape)


def _embedding_distance(gx: Tensor, gy: Tensor, keypoints: Tensor,
                        weights: Tensor, scale_norm: Tensor) -> Tensor:
    """Eq. 6 for a set of embeddings: (K, P) positions -> (J, P) D."""
    dist = ((gx[None] - keypoints[..., 0, None])**2 +
            (gy[None] - keypoints[..., 1, None])**2).sqrt()  # (J, K, P)
    return (weights[..., None] * dist).sum(1) / scale_norm[:, None]


def _person_terms(keypoints: Tensor, keypoint_probs: Tensor,
                  scales: Tensor,
                  dtype: torch.dtype) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """What Eq. 6 needs per person, made safe for non-finite inputs.

    Returns:
        Tuple: keypoints (J, K, 2) with NaN moved far away, weights
        ``p_k`` (J, K) in [0, 1], ``sum_k p_k * lambda_j`` (J,) and
        whether a person can own pixels at all (J,) bool.
    """
    weights = torch.nan_to_num(keypoint_probs.to(dtype), nan=0.).clamp(0, 1)
    norm = weights.sum(dim=1)  # (J,)
    usable = (norm > 0) & torch.isfinite(scales) & (scales > 0)
    scale_norm = (norm.clamp(min=1e-12) * scales).clamp(min=1e-12)
    kp = torch.nan_to_num(keypoints.to(dtype), nan=1e8)
    return kp, weights, scale_norm, usable


def assign_masks(segmentation: Tensor,
                 long_offsets: Tensor,
                 stride: float,
                 keypoints: Tensor,
                 keypoint_probs: Tensor,
                 scales: Tensor,
                 image_to_input: Tensor,
                 image_hw: Tuple[int, int],
                 seg_threshold: float = 0.5,
                 distance_threshold: float = 0.25,
                 mode: str = 'grid',
                 chunk_size: int = 65536) -> Tensor:
    r"""Person masks on the original image grid.

    Every image pixel is mapped into the network input, where the person
    probability is sampled (bilinear); a person pixel :math:`x_i`
    (:math:`p_S \ge` ``seg_threshold``) is given to every person ``j`` with

    :math:`D_{i,j} = \frac{\sum_k p_k(y_{j,k}) \|x_i + L_k(x_i) -
    y_{j,k}\| / \lambda_j}{\sum_k p_k(y_{j,k})} \le t`.

    The assignment is non-exclusive (a pixel may join several people) and
    pixels close to nobody stay unassigned.

    ``mode='pixel'`` evaluates ``D`` at every person pixel (long-range
    offsets sampled there): cost ``J * K`` per pixel. ``mode='grid'``
    evaluates ``D`` once per output cell next to the person region and
    interpolates it bilinearly at the pixels: cost ``J`` per pixel, and,
    since ``x + L(x)`` is itself the bilinear interpolation of the cells'
    embeddings, the interpolated ``D`` only over-estimates the exact one
    (by the convexity of the norm) where neighbouring cells disagree, i.e.
    at borders between people. Both process pixels in chunks, so memory
    stays bounded on large images.

    Args:
        segmentation (Tensor): (H, W) person probabilities.
        long_offsets (Tensor): (K, 2, H, W) refined long-range offsets.
        stride (float): Stride of the maps.
        keypoints (Tensor): (J, K, 2) people, input pixels.
        keypoint_probs (Tensor): (J, K) p_k(y_{j,k}).
        scales (Tensor): (J,) lambda_j.
        image_to_input (Tensor): (2, 3) affine from image to input pixels.
        image_hw (Tuple[int, int]): Output mask size ``(h, w)``.
        seg_threshold (float): Person probability threshold. Defaults to
            0.5.
        distance_threshold (float): t. Defaults to 0.25.
        mode (str): ``'grid'`` (default) or ``'pixel'``.
        chunk_size (int): Person pixels per chunk.

    Returns:
        Tensor: (J, h, w) bool masks.
    """
    if mode not in ('grid', 'pixel'):
        raise ValueError(f"mode must be 'grid' or 'pixel', got {mode!r}")
    h, w = int(image_hw[0]), int(image_hw[1])
    J, K, _ = keypoints.shape
    device = keypoints.device
    masks = torch.zeros((J, h * w), dtype=torch.bool, device=device)
    if J == 0 or h * w == 0:
        return masks.view(J, h, w)
    dtype = long_offsets.dtype
    A = image_to_input.to(device=device, dtype=dtype)
    xs, ys, candidates = _candidate_pixels(segmentation, A, stride, h, w,
                                           seg_threshold)
    seg = _sample(segmentation[None].to(dtype), xs / stride,
                  ys / stride)[0]
    keep = torch.nonzero(seg >= seg_threshold, as_tuple=True)[0]
    person, xs, ys = (t.index_select(0, keep) for t in (candidates, xs, ys))
    if person.numel() == 0:
        return masks.view(J, h, w)
    kp, weights, scale_norm, valid_people = _person_terms(
        keypoints, keypoint_probs, scales, dtype)
    if mode == 'grid':
        D_cells = _cell_distances(segmentation.to(dtype), long_offsets,
                                  stride, kp, weights, scale_norm,
                                  seg_threshold)
    else:
        flat_longs = long_offsets.reshape(2 * K, *long_offsets.shape[-2:])
    for start in range(0, person.numel(), chunk_size):
        idx = person[start:start + chunk_size]
        px, py = xs[start:start + chunk_size], ys[start:start + chunk_size]
        if mode == 'grid':
            D = _sample(D_cells, px / stride, py / stride)  # (J, P)
        else:
            longs = _sample(flat_longs, px / stride, py / stride)  # (2K, P)
            D = _embedding_distance(px[None] + longs[0::2],
                                    py[None] + longs[1::2], kp, weights,
                                    scale_norm)
        # index_copy_: a third of the time of masks[:, idx] = ...
        masks.index_copy_(1, idx,
                          (D <= distance_threshold) & valid_people[:, None])
    return masks.view(J, h, w)


def _candidate_pixels(segmentation: Tensor, A: Tensor, stride: float,
                      h: int, w: int,
                      seg_threshold: float) -> Tuple[Tensor, Tensor, Tensor]:
    """Image pixels whose bilinear person probability can reach the
    threshold (one of their four grid neighbours does), with their input
    coordinates.

    Returns:
        tuple: ``x`` (P,), ``y`` (P,) input pixels and the flat pixel
        indices (P,) of the candidates.
    """
    H, W = segmentation.shape
    dtype, device = A.dtype, A.device
    near = F.max_pool2d((segmentation >= seg_threshold)[None, None].to(
        dtype), 3, stride=1, padding=1)[0, 0] > 0
    near = F.pad(near, (1, 1, 1, 1))  # cells -1 and W/H count as empty
    u = torch.arange(w, device=device, dtype=dtype)
    v = torch.arange(h, device=device, dtype=dtype)
    if A[0, 1] == 0 and A[1, 0] == 0:  # axis-aligned: separable lookup
        x_u = A[0, 0] * u + A[0, 2]
        y_v = A[1, 1] * v + A[1, 2]
        cx = (x_u / stride).floor().clamp(-1, W).long() + 1
        cy = (y_v / stride).floor().clamp(-1, H).long() + 1
        cand = near[cy[:, None], cx[None, :]]  # (h, w)
        row, col = torch.nonzero(cand, as_tuple=True)
        return x_u[col], y_v[row], row * w + col
    vv, uu = torch.meshgrid(v, u, indexing='ij')
    x = (A[0, 0] * uu + A[0, 1] * vv + A[0, 2]).view(-1)
    y = (A[1, 0] * uu + A[1, 1] * vv + A[1, 2]).view(-1)
    cx = torch.nan_to_num(x / stride).floor().clamp(-1, W).long() + 1
    cy = torch.nan_to_num(y / stride).floor().clamp(-1, H).long() + 1
    flat = torch.nonzero(near[cy, cx], as_tuple=True)[0]
    return x[flat], y[flat], flat


def _cell_distances(segmentation: Tensor, long_offsets: Tensor,
                    stride: float, keypoints: Tensor, weights: Tensor,
                    scale_norm: Tensor, seg_threshold: float) -> Tensor:
    """(J, H, W) Eq. 6 distances at the cells within one cell of a person
    cell (all that bilinear sampling at person pixels can read); +inf
    elsewhere."""
    H, W = segmentation.shape
    J = keypoints.shape[0]
    near = F.max_pool2d((segmentation >= seg_threshold)[None, None].to(
        segmentation.dtype), 3, stride=1, padding=1)[0, 0] > 0
    cells = torch.nonzero(near.view(-1), as_tuple=True)[0]
    D = segmentation.new_full((J, H * W), float('inf'))
    if cells.numel():
        cy = (cells // W).to(segmentation.dtype) * stride
        cx = (cells % W).to(segmentation.dtype) * stride
        L = long_offsets.reshape(-1, 2, H * W)[:, :, cells]  # (K, 2, C)
        D[:, cells] = _embedding_distance(cx[None] + L[:, 0],
                                          cy[None] + L[:, 1], keypoints,
                                          weights, scale_norm)
    return D.view(J, H, W)


def assign_masks_dense(segmentation: Tensor,
                       long_offsets: Tensor,
                       stride: float,
                       keypoints: Tensor,
                       keypoint_probs: Tensor,
                       scales: Tensor,
                       valid: Tensor,
                       image_to_input: Tensor,
                       image_hw: Tuple[int, int],
                       seg_threshold: float = 0.5,
                       distance_threshold: float = 0.25) -> Tensor:
    """:func:`assign_masks` in ``'grid'`` mode with fixed shapes.

    Eq. 6 is evaluated at every output cell and interpolated at every image
    pixel (no candidate selection, no chunks), so the work does not depend
    on the data: a few fused kernels under ``torch.compile``. A pixel whose
    bilinear person probability reaches ``seg_threshold`` reads only cells
    next to a person cell, exactly those :func:`assign_masks` evaluates, so
    both give the same masks. Memory: about ``5 * J * h * w`` bytes.

    Args:
        segmentation (Tensor): (H, W) person probabilities.
        long_offsets (Tensor): (K, 2, H, W) refined long-range offsets.
        stride (float): Stride of the maps.
        keypoints (Tensor): (J, K, 2) people, input pixels.
        keypoint_probs (Tensor): (J, K) p_k(y_{j,k}).
        scales (Tensor): (J,) lambda_j.
        valid (Tensor): (J,) bool; invalid people (padding) get empty
            masks.
        image_to_input (Tensor): (2, 3) affine from image to input pixels,
            on the device of the maps.
        image_hw (Tuple[int, int]): Output mask size ``(h, w)``.
        seg_threshold (float): Person probability threshold.
        distance_threshold (float): t.

    Returns:
        Tensor: (J, h, w) bool masks.
    """
    h, w = image_hw  # no int(): sizes stay symbolic under torch.compile
    J, K, _ = keypoints.shape
    H, W = segmentation.shape
    dtype, device = long_offsets.dtype, long_offsets.device
    A = image_to_input.to(dtype)
    seg = segmentation.to(dtype)
    kp, weights, scale_norm, usable = _person_terms(keypoints,
                                                    keypoint_probs, scales,
                                                    dtype)
    valid_people = valid & usable
    # Eq. 6 at every cell
    cy = torch.arange(H, device=device, dtype=dtype) * stride
    cx = torch.arange(W, device=device, dtype=dtype) * stride
    ex = (cx + long_offsets[:, 0]).reshape(K, H * W)
    ey = (cy[:, None] + long_offsets[:, 1]).reshape(K, H * W)
    D_cells = _embedding_distance(ex, ey, kp, weights,
                                  scale_norm).view(J, H, W)
    # every image pixel in input coordinates
    v = torch.arange(h, device=device, dtype=dtype)[:, None]
    u = torch.arange(w, device=device, dtype=dtype)
    x = (A[0, 0] * u + A[0, 1] * v + A[0, 2]) / stride  # (h, w)
    y = (A[1, 0] * u + A[1, 1] * v + A[1, 2]) / stride
    person = _sample(seg[None], x, y)[0] >= seg_threshold  # (h, w)
    D = _sample(D_cells, x, y)  # (J, h, w)
    return (D <= distance_threshold) & person & valid_people[:, None, None]
