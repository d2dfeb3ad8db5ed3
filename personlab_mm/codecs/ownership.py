"""People on the output grid, and which person a cell's per-person target
belongs to: shared by the codecs whose targets point from a person's
pixels to that person (PersonLab's long-range offsets, PosePlusSeg's mask
offsets)."""
from typing import NamedTuple

import numpy as np


class ClaimedCells(NamedTuple):
    """The cells with a per-person target (:func:`claimed_cells`).

    Attributes:
        cells (np.ndarray): (P,) flat indices ``row * W + col``.
        owner (np.ndarray): (P,) int, the person each cell's target is of.
        single (np.ndarray): (P,) bool, owned by exactly one person (the
            target is trained there).
    """
    cells: np.ndarray
    owner: np.ndarray
    single: np.ndarray


class PeopleOnGrid(NamedTuple):
    """The people of one image as :meth:`PersonLabCodec.encode` prepared
    them, for the per-person targets (long-range offsets and those of
    subclasses).

    Attributes:
        keypoints (np.ndarray): (N, K, 2) input pixels.
        labelled (np.ndarray): (N, K) bool, labelled keypoints of trained
            people (``min_keypoints``).
        coverage (np.ndarray): (N, H, W) mask coverage of each cell (the
            keypoint disks for people without a mask).
        claimed (ClaimedCells): Which person each target cell is of.
    """
    keypoints: np.ndarray
    labelled: np.ndarray
    coverage: np.ndarray
    claimed: ClaimedCells


def claimed_cells(owned: np.ndarray, crowd: np.ndarray) -> ClaimedCells:
    """The cells with a per-person target, their owner, and whether the
    target is trained there.

    A cell owned by one person belongs to it (trained). A cell owned by
    several people belongs to the smallest of them (usually the one in
    front), and the background ring one cell around each person to the
    person it touches (the smallest of several); both are not trained, as
    in PersonLab, but keep the targets a complete "perfect output" for
    decoding masks up to their borders. Crowd cells get no target.

    Args:
        owned (np.ndarray): (N, H, W) bool cells of each person.
        crowd (np.ndarray): (H, W) bool crowd cells.

    Returns:
        ClaimedCells: the cells, their owners, whether one person owns each.
    """
    N, H, W = owned.shape
    if N == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ClaimedCells(empty, empty.copy(), np.zeros(0, dtype=bool))
    cover = owned.sum(axis=0)
    # one-cell dilation of every mask (3x3, separable), for the outer ring
    padded = np.pad(owned, ((0, 0), (1, 1), (1, 1)))
    rows = padded[:, :, :-2] | padded[:, :, 1:-1] | padded[:, :, 2:]
    grown = rows[:, :-2] | rows[:, 1:-1] | rows[:, 2:]
    claim = np.where((cover >= 1)[None], owned, grown)
    cells = np.flatnonzero(claim.any(axis=0) & ~crowd)  # (P,)
    # owner: the claiming person with the smallest area (the first of
    # equal ones)
    area = owned.reshape(N, -1).sum(1)
    by_area = np.argsort(area, kind='stable')
    owner = by_area[claim.reshape(N, H * W)[by_area][:, cells].argmax(
        axis=0)]
    return ClaimedCells(cells, owner, cover.reshape(-1)[cells] == 1)
