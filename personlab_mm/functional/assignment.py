"""Pixel -> instance assignment on the image grid, with a pluggable
distance.

Dense predictions live on the output grid; masks are wanted on the
original image grid. Every image pixel is mapped into the network input
(an affine), the foreground probability is sampled there, and each
foreground pixel is given to the instances (anchors: people, centres, ...)
whose distance to it, as the method defines it, passes a rule: below a
threshold (non-exclusive: several instances or none may take a pixel) or
the nearest (exclusive). Pixels are processed in chunks, so memory stays
bounded on large images.
"""
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .sampling import sample_points
from .shapes import compact, select

Distance = Callable[[Tensor, Tensor], Tensor]


def near_cells(foreground: Tensor) -> Tensor:
    """(H, W) bool: the cells within one cell (8-neighbourhood) of a
    foreground cell, all that bilinear sampling at a foreground pixel can
    read."""
    return F.max_pool2d(foreground[None, None].float(), 3, stride=1,
                        padding=1)[0, 0] > 0


def candidate_pixels(foreground: Tensor,
                     image_to_input: Tensor,
                     stride: float,
                     image_hw: Tuple[int, int],
                     axis_aligned: bool = False,
                     fixed: bool = False) -> Tuple[Tensor, Tensor, Tensor]:
    """Image pixels whose bilinear foreground probability can reach the
    threshold (one of their four grid neighbours is foreground), with their
    input coordinates.

    Args:
        foreground (Tensor): (H, W) bool foreground cells.
        image_to_input (Tensor): (2, 3) affine, image -> input pixels, in
            the dtype of the coordinates wanted.
        stride (float): Grid stride.
        image_hw (Tuple[int, int]): Image size ``(h, w)``.
        axis_aligned (bool): The affine has no rotation or shear (known on
            the host): coordinates are computed per row and column.
        fixed (bool): Return every pixel (see :mod:`.shapes`).

    Returns:
        tuple: ``x`` (P,), ``y`` (P,) input pixels and the flat pixel
        indices ``row * w + col`` (P,), in flat order.
    """
    H, W = foreground.shape
    h, w = image_hw
    A = image_to_input
    dtype, device = A.dtype, A.device
    # cells -1 and W / H count as background
    near = F.pad(near_cells(foreground), (1, 1, 1, 1))
    u = torch.arange(w, device=device, dtype=dtype)
    v = torch.arange(h, device=device, dtype=dtype)
    if axis_aligned:  # separable lookup
        x_u = A[0, 0] * u + A[0, 2]
        y_v = A[1, 1] * v + A[1, 2]
        cx = (x_u / stride).floor().clamp(-1, W).long() + 1
        cy = (y_v / stride).floor().clamp(-1, H).long() + 1
        row, col = select(near[cy[:, None], cx[None, :]], fixed)
        return x_u[col], y_v[row], row * w + col
    vv, uu = torch.meshgrid(v, u, indexing='ij')
    x = (A[0, 0] * uu + A[0, 1] * vv + A[0, 2]).reshape(-1)
    y = (A[1, 0] * uu + A[1, 1] * vv + A[1, 2]).reshape(-1)
    cx = torch.nan_to_num(x / stride).floor().clamp(-1, W).long() + 1
    cy = torch.nan_to_num(y / stride).floor().clamp(-1, H).long() + 1
    flat = select(near[cy, cx], fixed)[0]
    return x[flat], y[flat], flat


def decide(distances: Tensor, valid: Tensor,
           max_distance: Optional[float] = None,
           exclusive: bool = False) -> Tensor:
    """Which instances take which pixels.

    Args:
        distances (Tensor): (J, P) distance of every pixel to every
            instance.
        valid (Tensor): (J,) bool, the instances that may take pixels.
        max_distance (float, optional): A pixel farther than this from an
            instance is not given to it. With ``exclusive``, the nearest
            instance is chosen first: a pixel whose nearest instance is too
            far stays unassigned. An infinite (or NaN) distance never
            assigns.
        exclusive (bool): Give each pixel only to its nearest valid
            instance (ties: the first); otherwise to every instance within
            ``max_distance``.

    Returns:
        Tensor: (J, P) bool.
    """
    owned = valid[:, None] & torch.isfinite(distances)
    if max_distance is not None:
        owned = (distances <= max_distance) & owned
    if exclusive and distances.shape[0]:
        inf = torch.full_like(distances, float('inf'))
        nearest = torch.where(valid[:, None], distances, inf).argmin(dim=0)
        one = torch.arange(distances.shape[0], device=distances.device)
        owned = owned & (one[:, None] == nearest[None])
    return owned


def assign_pixels(foreground: Tensor,
                  stride: float,
                  distance: Distance,
                  valid: Tensor,
                  image_to_input: Tensor,
                  image_hw: Tuple[int, int],
                  fg_threshold: float = 0.5,
                  max_distance: Optional[float] = None,
                  exclusive: bool = False,
                  axis_aligned: bool = False,
                  chunk_size: int = 65536,
                  fixed: bool = False) -> Tensor:
    """Instance masks on the image grid.

    A pixel is foreground when the foreground probability sampled
    (bilinearly) at its input position reaches ``fg_threshold``; each
    foreground pixel goes to the instances :func:`decide` picks from
    ``distance``.

    Args:
        foreground (Tensor): (H, W) foreground probabilities on the grid.
        stride (float): Grid stride.
        distance (Callable): ``(x (P,), y (P,)) -> (J, P)``, the distance
            of pixels at input positions ``(x, y)`` to every instance.
        valid (Tensor): (J,) bool, the instances that may take pixels.
        image_to_input (Tensor): (2, 3) affine, image -> input pixels, on
            the device and in the dtype to compute in.
        image_hw (Tuple[int, int]): Mask size ``(h, w)``.
        fg_threshold (float): Foreground threshold. Defaults to 0.5.
        max_distance (float, optional): See :func:`decide`.
        exclusive (bool): See :func:`decide`.
        axis_aligned (bool): See :func:`candidate_pixels`.
        chunk_size (int): Foreground pixels per call of ``distance``.
        fixed (bool): Every pixel in one call, no data-dependent shapes.

    Returns:
        Tensor: (J, h, w) bool masks.
    """
    h, w = image_hw
    J = valid.shape[0]
    dtype = image_to_input.dtype
    if not fixed and (J == 0 or h * w == 0):
        return torch.zeros((J, h, w), dtype=torch.bool, device=valid.device)
    xs, ys, pixels = candidate_pixels(foreground >= fg_threshold,
                                      image_to_input, stride, image_hw,
                                      axis_aligned, fixed)
    fg = sample_points(foreground[None].to(dtype), xs / stride,
                       ys / stride)[0] >= fg_threshold
    if fixed:
        owned = decide(distance(xs, ys), valid, max_distance, exclusive)
        return (owned & fg[None]).view(J, h, w)
    pixels, xs, ys = compact(fg, pixels, xs, ys)
    masks = torch.zeros((J, h * w), dtype=torch.bool, device=valid.device)
    for start in range(0, pixels.numel(), chunk_size):
        end = start + chunk_size
        owned = decide(distance(xs[start:end], ys[start:end]), valid,
                       max_distance, exclusive)
        # index_copy_: a third of the time of masks[:, idx] = ...
        masks.index_copy_(1, pixels[start:end], owned)
    return masks.view(J, h, w)
