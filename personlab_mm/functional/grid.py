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
from typing import Mapping, Tuple

import numpy as np


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


def is_axis_aligned(affine: np.ndarray) -> bool:
    """Whether a (2, 3) affine only scales and shifts each axis (no
    rotation or shear): then the x of a point depends on its x only."""
    affine = np.asarray(affine)
    return bool(affine[0, 1] == 0 and affine[1, 0] == 0)
