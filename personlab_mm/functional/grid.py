"""The one grid convention of every dense map, and the affines between
image, network input and grid.

A map of stride ``s`` has cell ``(i, j)`` (row, column) at input pixel
``(x, y) = (j * s, i * s)``: cells are corner-aligned with the input
(strided convolutions with ``padding = kernel // 2`` keep this), so an input
of ``w`` pixels gives ``ceil(w / s)`` cells and an input of ``n * s + 1``
pixels puts the last cell exactly on the last pixel. Positions are ``(x,
y)`` in input pixels unless a name says ``g`` (grid cells: ``gx = x / s``).
Every offset field stores displacements in input pixels.

Affines are ``(2, 3)`` arrays ``[[a, b, c], [d, e, f]]`` mapping ``(x, y)``
to ``(a x + b y + c, d x + e y + f)``.
"""
import math
from typing import Mapping, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor


def grid_size(input_size: Tuple[int, int], stride: float) -> Tuple[int, int]:
    """Cells ``(W, H)`` of a map of ``stride`` over an input of ``(w, h)``
    pixels: ``ceil(w / stride)``, ``ceil(h / stride)``."""
    w, h = input_size
    return int(math.ceil(w / stride)), int(math.ceil(h / stride))


def covering_grid_size(input_size: Tuple[int, int],
                       cell: float) -> Tuple[int, int]:
    """Cells ``(W, H)`` of size ``cell`` whose corner-aligned positions
    cover the input pixels ``0 .. w - 1`` (and ``0 .. h - 1``):
    ``floor((w - 1) / cell) + 1``. Used for vote accumulators, whose cells
    need not divide the input."""
    w, h = input_size
    return (int(math.floor((w - 1) / cell)) + 1,
            int(math.floor((h - 1) / cell)) + 1)


def input_size_of_grid(grid_hw: Tuple[int, int],
                       stride: float) -> Tuple[int, int]:
    """The corner-aligned input ``(w, h)`` whose grid is ``grid_hw = (H,
    W)``: ``((W - 1) * stride + 1, (H - 1) * stride + 1)``."""
    H, W = grid_hw
    return int((W - 1) * stride) + 1, int((H - 1) * stride) + 1


def grid_points(grid_hw: Tuple[int, int], stride: float,
                like: Tensor) -> Tuple[Tensor, Tensor]:
    """Input-pixel positions of the cells of a ``(H, W)`` grid.

    Returns:
        tuple: ``xs`` (W,) and ``ys`` (H,) in the dtype and on the device of
        ``like``.
    """
    H, W = grid_hw
    return (torch.arange(W, device=like.device, dtype=like.dtype) * stride,
            torch.arange(H, device=like.device, dtype=like.dtype) * stride)


def input_affine_from_meta(metainfo: Mapping) -> np.ndarray:
    """(2, 3) affine from image pixels to network input pixels, from the
    test-time metainfo of MMPose's bottom-up convention.

    MMPose maps predictions back as ``image = input / input_size *
    input_scale + input_center - input_scale / 2`` (``BottomupResize``,
    ``PersonLabResize``); this is its inverse.

    Args:
        metainfo (Mapping): With ``input_size`` ``(w, h)``,
            ``input_scale`` ``(sx, sy)`` and ``input_center`` ``(cx, cy)``.
    """
    w, h = metainfo['input_size']
    sx, sy = metainfo['input_scale']
    cx, cy = metainfo['input_center']
    ax, ay = w / sx, h / sy
    return np.array([[ax, 0., (sx / 2. - cx) * ax],
                     [0., ay, (sy / 2. - cy) * ay]], dtype=np.float64)


def invert_affine(affine: np.ndarray) -> np.ndarray:
    """The inverse of a (2, 3) affine, as a (2, 3) float64 array."""
    full = np.vstack([np.asarray(affine, dtype=np.float64), [0., 0., 1.]])
    return np.linalg.inv(full)[:2]


def is_axis_aligned(affine: np.ndarray) -> bool:
    """Whether a (2, 3) affine only scales and shifts each axis (no
    rotation or shear): then the x of a point depends on its x only."""
    affine = np.asarray(affine)
    return bool(affine[0, 1] == 0 and affine[1, 0] == 0)


def apply_affine(points: Tensor, affine: Sequence[Sequence[float]]) -> Tensor:
    """(..., 2) points through a (2, 3) affine, in the points' dtype.

    Args:
        points (Tensor): (..., 2) ``(x, y)`` positions.
        affine (array-like): (2, 3), host values.

    Returns:
        Tensor: (..., 2), same shape, dtype and device.
    """
    M = np.asarray(affine, dtype=np.float64)
    x, y = points[..., 0], points[..., 1]
    return torch.stack([
        x * float(M[0, 0]) + y * float(M[0, 1]) + float(M[0, 2]),
        x * float(M[1, 0]) + y * float(M[1, 1]) + float(M[1, 2])
    ], dim=-1)
