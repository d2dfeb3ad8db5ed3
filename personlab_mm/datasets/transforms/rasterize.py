"""Rasterise COCO segmentations (polygons or RLE) through an affine warp.

The network sees an affine-warped (and possibly flipped) crop of the image,
and PersonLab's targets live on the strided output grid. Instead of decoding
every mask at full image size and warping it twice, polygons are mapped
straight onto the target grid and rasterised there by pycocotools (COCO's
own rule: a cell is in when its centre is), only inside the polygon's
bounding box; RLE masks, which have no geometry to map, are decoded and
sampled at the cell centres (nearest neighbour). Both therefore answer the
same question: "is the image point under this cell's centre inside the
person?" (``cv2.fillPoly`` would instead mark every cell the outline
touches, which at stride 16 inflates a person's mask by half.)

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


def _parse(segmentation: Any, image_hw: Tuple[int, int]):
    """``('rle', rle)``, ``('polygons', [(V, 2) arrays])`` or ``None``.

    Polygon vertices come back in the pixel-centre frame (COCO's minus half
    a pixel); degenerate polygons (fewer than 3 points) are dropped.
    """
    if segmentation is None or (isinstance(segmentation, (list, tuple))
                                and len(segmentation) == 0):
        return None
    if isinstance(segmentation, dict):
        return 'rle', _as_rle(segmentation, image_hw)
    if not isinstance(segmentation, (list, tuple)):
        raise SegmentationError(
            'segmentation must be a list of polygons or an RLE dict, got '
            f'{type(segmentation).__name__}')
    polygons = []
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
        polygons.append(pts.reshape(-1, 2) - 0.5)
    return ('polygons', polygons) if polygons else None


def rasterize_segmentation_crop(
        segmentation: Any,
        image_hw: Tuple[int, int],
        affine: np.ndarray,
        out_wh: Tuple[int, int],
        align: int = 1) -> Tuple[np.ndarray, Tuple[int, int]]:
    """Rasterise one COCO segmentation on a warped grid, only around it.

    The work is proportional to the area the mask covers on the output
    grid, not to the grid.

    Args:
        segmentation: As in :func:`rasterize_segmentation`.
        image_hw (Tuple[int, int]): Original image size ``(h, w)``.
        affine (np.ndarray): (2, 3) map from image pixels to output cells.
        out_wh (Tuple[int, int]): Output grid ``(W, H)``.
        align (int): Crop origin and size are multiples of ``align``
            (``W`` and ``H`` must be too).

    Returns:
        tuple: the (h, w) bool crop and its origin ``(x0, y0)`` on the grid;
        an empty crop when nothing falls on the grid.
    """
    W, H = int(out_wh[0]), int(out_wh[1])
    affine = np.asarray(affine, dtype=np.float64).reshape(2, 3)
    parsed = _parse(segmentation, image_hw)
    empty = np.zeros((0, 0), dtype=bool), (0, 0)
    if parsed is None:
        return empty
    kind, data = parsed
    if kind == 'rle':
        x, y, w, h = mask_utils.toBbox(data)
        if w <= 0 or h <= 0:
            return empty
        corners = np.array([[x, y], [x + w - 1, y], [x, y + h - 1],
                            [x + w - 1, y + h - 1]])
    else:
        corners = np.concatenate(data)
    mapped = corners @ affine[:, :2].T + affine[:, 2]
    lo = np.floor(mapped.min(axis=0)) - 1
    hi = np.ceil(mapped.max(axis=0)) + 1
    x0 = max(int(lo[0] // align * align), 0)
    y0 = max(int(lo[1] // align * align), 0)
    x1 = min(int((hi[0] // align + 1) * align), W)
    y1 = min(int((hi[1] // align + 1) * align), H)
    if x0 >= x1 or y0 >= y1:
        return empty
    crop_affine = affine - np.array([[0., 0., x0], [0., 0., y0]])
    if kind == 'rle':
        # pycocotools decodes column-major: warp the (w, h) transpose,
        # which is C-contiguous, with x and y of the source swapped (no
        # copy of the whole mask)
        warped = cv2.warpAffine(
            mask_utils.decode(data).T, crop_affine[:, [1, 0, 2]],
            (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return warped > 0, (x0, y0)
    # pycocotools rasterises in COCO's frame: back by half a cell
    polys = [(pts @ crop_affine[:, :2].T + crop_affine[:, 2] + 0.5).ravel()
             for pts in data]
    rles = mask_utils.frPyObjects([p.tolist() for p in polys], y1 - y0,
                                  x1 - x0)
    return mask_utils.decode(mask_utils.merge(rles)) > 0, (x0, y0)


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
    mask = np.zeros((H, W), dtype=bool)
    crop, (x0, y0) = rasterize_segmentation_crop(segmentation, image_hw,
                                                 affine, out_wh)
    mask[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
    return mask
