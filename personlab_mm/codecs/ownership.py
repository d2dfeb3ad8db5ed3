"""People on the output grid, and which person a cell's per-person target
belongs to: shared by the codecs whose targets point from a person's
pixels to that person (PersonLab's long-range offsets, PosePlusSeg's mask
offsets)."""
from typing import NamedTuple, Tuple

import numpy as np


class PeopleOnGrid(NamedTuple):
    """The people of one image as :meth:`PersonLabCodec.encode` prepared
    them, for the targets of subclasses.

    Attributes:
        keypoints (np.ndarray): (N, K, 2) input pixels.
        labelled (np.ndarray): (N, K) bool, labelled keypoints of trained
            people (``min_keypoints``).
        coverage (np.ndarray): (N, H, W) mask coverage of each cell (the
            keypoint disks for people without a mask).
        owned (np.ndarray): (N, H, W) bool, the cells each person owns.
        crowd (np.ndarray): (H, W) bool crowd cells.
    """
    keypoints: np.ndarray
    labelled: np.ndarray
    coverage: np.ndarray
    owned: np.ndarray
    crowd: np.ndarray


def claimed_cells(owned: np.ndarray, crowd: np.ndarray
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        tuple: flat cell indices ``row * W + col`` (P,), the owner of each
        (P,) int, and (P,) bool: the cell is owned by exactly one person.
    """
    N, H, W = owned.shape
    if N == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=bool)
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
    return cells, owner, cover.reshape(-1)[cells] == 1
