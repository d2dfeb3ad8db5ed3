"""Rasterise COCO segmentations (polygons or RLE) through an affine warp.

The network sees an affine-warped (and possibly flipped) crop of the image,
and PersonLab's targets live on the strided output grid. Instead of decoding
every mask at full image size and warping it twice, polygons are mapped
straight onto the target grid and each grid cell is tested at its centre
(even-odd rule), only inside the polygon's bounding box; RLE masks, which
have no geometry to map, are decoded and sampled at the cell centres
(nearest neighbour). Both therefore answer the same question: "is the image
point under this cell's centre inside the person?" (Filling polygons with
``cv2.fillPoly`` would instead mark every cell the outline touches, which
at stride 16 inflates a person's mask by half.)

Coordinates follow OpenCV / MMPose: integer coordinates are pixel centres
(and COCO keypoints are pixel indices). COCO *polygons* use the continuous
frame in which pixel ``u`` spans ``[u, u + 1)`` (its centre is ``u + 0.5``;
that is how ``pycocotools`` rasterises them), so polygon vertices are moved
by half a pixel into the pixel-centre frame before anything else.
"""
from typing import Any, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils


class SegmentationError(ValueError):
    """A segmentation annotation that cannot be rasterised."""


def _as_rle(segmentation: dict, image_hw: Tuple[int, int]) -> dict:
    """Normalise an uncompressed or compressed RLE dict for pycocotools."""
    if 'counts' not in segmentation or 'size' not in segmentation:
        raise SegmentationError(
            "an RLE segmentation needs 'counts' and 'size', got keys "
            f'{sorted(segmentation)}')
    h, w = (int(v) for v in segmentation['size'])
    if (h, w) != tuple(image_hw):
        raise SegmentationError(
            f'RLE size {(h, w)} does not match the image size '
            f'{tuple(image_hw)}')
    counts = segmentation['counts']
    if isinstance(counts, list):  # uncompressed RLE
        if sum(counts) != h * w:
            raise SegmentationError(
                f'uncompressed RLE counts sum to {sum(counts)}, expected '
                f'{h}*{w}={h * w}')
        return mask_utils.frPyObjects(segmentation, h, w)
    if isinstance(counts, str):
        return dict(size=[h, w], counts=counts.encode('ascii'))
    if isinstance(counts, bytes):
        return dict(size=[h, w], counts=counts)
    raise SegmentationError(
        f'RLE counts must be a list, str or bytes, got {type(counts)}')


def rasterize_segmentation(segmentation: Any, image_hw: Tuple[int, int],
                           affine: np.ndarray,
                           out_wh: Tuple[int, int]) -> np.ndarray:
    """Rasterise one COCO segmentation on a warped grid.

    Args:
        segmentation: COCO ``segmentation``: a list of polygons (each a flat
            ``[x0, y0, x1, y1, ...]`` list), or an RLE dict with list
            (uncompressed) or string (compressed) ``counts``. ``None`` or an
            empty list gives an empty mask.
        image_hw (Tuple[int, int]): Original image size ``(h, w)``.
        affine (np.ndarray): (2, 3) map from original image pixels to output
            cells.
        out_wh (Tuple[int, int]): Output size ``(W, H)``.

    Returns:
        np.ndarray: (H, W) bool mask.

    Raises:
        SegmentationError: for malformed input (bad RLE, odd-length
            polygon, non-numeric coordinates).
    """
    W, H = int(out_wh[0]), int(out_wh[1])
    mask = np.zeros((H, W), dtype=np.uint8)
    affine = np.asarray(affine, dtype=np.float64).reshape(2, 3)
    if segmentation is None or (isinstance(segmentation, (list, tuple))
                                and len(segmentation) == 0):
        return mask.astype(bool)

    if isinstance(segmentation, dict):
        rle = _as_rle(segmentation, image_hw)
        full = mask_utils.decode(rle)
        warped = cv2.warpAffine(
            full, affine, (W, H), flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return warped > 0

    if not isinstance(segmentation, (list, tuple)):
        raise SegmentationError(
            'segmentation must be a list of polygons or an RLE dict, got '
            f'{type(segmentation).__name__}')
    for poly in segmentation:
        try:
            pts = np.asarray(poly, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as e:
            raise SegmentationError(f'polygon is not a list of numbers: '
                                    f'{str(poly)[:80]}') from e
        if pts.size % 2:
            raise SegmentationError(
                f'polygon has an odd number of coordinates ({pts.size})')
        if pts.size < 6 or not np.isfinite(pts).all():
            continue  # degenerate (fewer than 3 points): covers no area
        pts = (pts.reshape(-1, 2) - 0.5) @ affine[:, :2].T + affine[:, 2]
        _fill_polygon(mask, pts)
    return mask.astype(bool)


def _fill_polygon(mask: np.ndarray, pts: np.ndarray) -> None:
    """Set the cells of ``mask`` whose centres lie inside ``pts``.

    Args:
        mask (np.ndarray): (H, W) uint8, updated in place (union, so the
            several polygons of one COCO segmentation add up).
        pts (np.ndarray): (V, 2) polygon vertices in cell coordinates.
    """
    H, W = mask.shape
    x0 = max(int(np.ceil(pts[:, 0].min())), 0)
    x1 = min(int(np.floor(pts[:, 0].max())), W - 1)
    y0 = max(int(np.ceil(pts[:, 1].min())), 0)
    y1 = min(int(np.floor(pts[:, 1].max())), H - 1)
    if x0 > x1 or y0 > y1:
        return
    xs = np.arange(x0, x1 + 1, dtype=np.float64)
    ys = np.arange(y0, y1 + 1, dtype=np.float64)
    # even-odd rule: a cell is inside when an odd number of polygon edges
    # cross the row to its right
    ax, ay = pts[:, 0], pts[:, 1]
    bx, by = np.roll(ax, -1), np.roll(ay, -1)
    spans = (ay[None, :] > ys[:, None]) != (by[None, :] > ys[:, None])
    with np.errstate(divide='ignore', invalid='ignore'):
        t = (ys[:, None] - ay[None, :]) / (by - ay)[None, :]
        cross = ax[None, :] + t * (bx - ax)[None, :]  # (rows, V)
    # Count crossings right of each cell with one flat searchsorted: clip
    # to [x0 - 1, x1 + 1] (the same counts), park non-crossing edges at
    # x0 - 1 and shift row r by r * period so rows stay sorted.
    rows, V = cross.shape
    cross = np.clip(np.where(spans, cross, x0 - 1.), x0 - 1., x1 + 1.)
    period = (x1 - x0) + 3.
    flat = np.sort(cross, axis=1) + (np.arange(rows) * period)[:, None]
    query = xs[None, :] + (np.arange(rows) * period)[:, None]
    right = (np.arange(1, rows + 1) * V)[:, None] - np.searchsorted(
        flat.ravel(), query, side='right')
    inside = right % 2 == 1
    mask[y0:y1 + 1, x0:x1 + 1] |= inside.astype(np.uint8)
