"""Keypoint disks on the output grid, shared by the disk-based codecs
(PersonLab's heatmaps and short/mid-range offsets, PosePlusSeg's SKHM and
body heat map)."""
import math
from typing import Tuple

import numpy as np


def _disk_entries(keypoints: np.ndarray, labelled: np.ndarray,
                  grid_wh: Tuple[int, int], stride: int,
                  radius: float) -> Tuple[np.ndarray, ...]:
    """Every (labelled keypoint, grid cell) pair within ``radius``.

    Returns:
        tuple: ``(person, k, iy, ix, dist2)`` arrays of length Q, in the
        order of ``np.nonzero(labelled)`` and then of the cells.
    """
    W, H = grid_wh
    s, r = stride, radius
    person, kpt = np.nonzero(labelled)
    centers = keypoints[person, kpt]  # (P, 2) input px
    half = int(math.ceil(r / s)) + 1
    steps = np.arange(-half, half + 1)
    base = np.round(centers / s).astype(np.int64)  # (P, 2) grid cells
    ix = base[:, None, None, 0] + steps[None, None, :]  # (P, 1, S)
    iy = base[:, None, None, 1] + steps[None, :, None]  # (P, S, 1)
    dx = ix * s - centers[:, None, None, 0]
    dy = iy * s - centers[:, None, None, 1]
    dist2 = dx * dx + dy * dy  # (P, S, S)
    inside = (dist2 <= r * r) & (ix >= 0) & (ix < W) & (iy >= 0) & (iy < H)
    pair, sy, sx = np.nonzero(inside)
    return (person[pair], kpt[pair], iy[pair, sy, 0], ix[pair, 0, sx],
            dist2[inside])


def disk_cells(keypoints: np.ndarray, labelled: np.ndarray,
               grid_wh: Tuple[int, int], stride: int,
               radius: float) -> Tuple[np.ndarray, ...]:
    """Grid cells inside the keypoint disks, each owned by the closest
    person.

    Cell ``(i, j)`` sits at input pixel ``(j * stride, i * stride)``
    (:mod:`personlab_mm.functional.grid`); it is inside the disk of a
    keypoint when within ``radius`` input pixels of it.

    Args:
        keypoints (np.ndarray): (N, K, 2) in input pixels.
        labelled (np.ndarray): (N, K) bool, the keypoints that have disks.
        grid_wh (Tuple[int, int]): Output grid ``(W, H)``.
        stride (int): Output stride.
        radius (float): Disk radius in input pixels.

    Returns:
        tuple: ``(k, iy, ix, person)`` int arrays of length Q, one entry per
        (keypoint type, cell) covered by at least one disk; the person is
        the closest one (the first of equally close ones).
    """
    W, H = grid_wh
    K = keypoints.shape[1]
    person, k, iy, ix, dist2 = _disk_entries(keypoints, labelled, grid_wh,
                                             stride, radius)
    # Keep, per (k, cell), the entry of the closest person (the first entry
    # among equally close ones): two scatter-minimums instead of a sort.
    cell = (k * H + iy) * W + ix
    nearest = np.full(K * H * W, np.inf)
    np.minimum.at(nearest, cell, dist2)
    entry = np.arange(cell.size)
    closest = dist2 == nearest[cell]
    first = np.full(K * H * W, cell.size)
    np.minimum.at(first, cell[closest], entry[closest])
    keep = entry[first[cell] == entry]
    return k[keep], iy[keep], ix[keep], person[keep]


def disk_counts(keypoints: np.ndarray, labelled: np.ndarray,
                grid_wh: Tuple[int, int], stride: int,
                radius: float) -> np.ndarray:
    """How many of each person's keypoint disks cover each grid cell.

    Args:
        keypoints (np.ndarray): (N, K, 2) in input pixels.
        labelled (np.ndarray): (N, K) bool, the keypoints that have disks.
        grid_wh (Tuple[int, int]): Output grid ``(W, H)``.
        stride (int): Output stride.
        radius (float): Disk radius in input pixels.

    Returns:
        np.ndarray: (N, H, W) float32 counts in ``[0, K]``.
    """
    W, H = grid_wh
    N = keypoints.shape[0]
    counts = np.zeros(N * H * W, dtype=np.float32)
    person, _, iy, ix, _ = _disk_entries(keypoints, labelled, grid_wh,
                                         stride, radius)
    np.add.at(counts, (person * H + iy) * W + ix, 1.)
    return counts.reshape(N, H, W)


def keypoint_regions(keypoints: np.ndarray, labelled: np.ndarray,
                     grid_wh: Tuple[int, int], stride: int,
                     radius: float) -> np.ndarray:
    """Each person's union of its keypoint disks: the region that stands
    in for the mask of a person annotated without one.

    Args: as :func:`disk_counts`.

    Returns:
        np.ndarray: (N, H, W) float32, 1 inside the person's disks.
    """
    return (disk_counts(keypoints, labelled, grid_wh, stride, radius) >
            0).astype(np.float32)
