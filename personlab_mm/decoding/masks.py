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
                 chunk_size: int = 65536) -> Tensor:
    r"""Person masks on the original image grid.

    Every image pixel is mapped into the network input, the person
    probability and the long-range offsets are sampled there (bilinear),
    and a person pixel :math:`x_i` (:math:`p_S \ge` ``seg_threshold``) is
    given to every person ``j`` with

    :math:`D_{i,j} = \frac{\sum_k p_k(y_{j,k}) \|x_i + L_k(x_i) -
    y_{j,k}\| / \lambda_j}{\sum_k p_k(y_{j,k})} \le t`.

    The assignment is non-exclusive (a pixel may join several people) and
    pixels close to nobody stay unassigned. Person pixels are processed in
    chunks so memory stays bounded on large images.

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
        chunk_size (int): Person pixels per chunk.

    Returns:
        Tensor: (J, h, w) bool masks.
    """
    h, w = int(image_hw[0]), int(image_hw[1])
    J, K, _ = keypoints.shape
    device = keypoints.device
    masks = torch.zeros((J, h * w), dtype=torch.bool, device=device)
    if J == 0 or h * w == 0:
        return masks.view(J, h, w)
    dtype = long_offsets.dtype
    A = image_to_input.to(device=device, dtype=dtype)
    v, u = torch.meshgrid(
        torch.arange(h, device=device, dtype=dtype),
        torch.arange(w, device=device, dtype=dtype),
        indexing='ij')
    x = A[0, 0] * u + A[0, 1] * v + A[0, 2]
    y = A[1, 0] * u + A[1, 1] * v + A[1, 2]
    seg = _sample(segmentation[None].to(dtype), x / stride, y / stride)[0]
    person = torch.nonzero((seg >= seg_threshold).view(-1),
                           as_tuple=True)[0]
    if person.numel() == 0:
        return masks.view(J, h, w)
    weights = torch.nan_to_num(keypoint_probs.to(dtype), nan=0.).clamp(0, 1)
    norm = weights.sum(dim=1)  # (J,)
    valid_people = (norm > 0) & torch.isfinite(scales)
    kp = torch.nan_to_num(keypoints.to(dtype), nan=1e8)
    flat_longs = long_offsets.reshape(2 * K, *long_offsets.shape[-2:])
    xs, ys = x.reshape(-1), y.reshape(-1)
    for start in range(0, person.numel(), chunk_size):
        idx = person[start:start + chunk_size]
        px, py = xs[idx], ys[idx]
        longs = _sample(flat_longs, px / stride, py / stride)  # (2K, P)
        gx = px[None] + longs[0::2]  # (K, P) embedding G_k(x)
        gy = py[None] + longs[1::2]
        dist = ((gx[None] - kp[..., 0, None])**2 +
                (gy[None] - kp[..., 1, None])**2).sqrt()  # (J, K, P)
        D = (weights[..., None] * dist).sum(1) / (
            norm[:, None].clamp(min=1e-12) * scales[:, None])
        hit = (D <= distance_threshold) & valid_people[:, None]
        masks[:, idx] = hit
    return masks.view(J, h, w)
