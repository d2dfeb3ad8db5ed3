"""PosePlusSeg's instance segmentation generator (Eq. 2-4): every person
pixel moves by its mask offset and joins the nearest centroid of a decoded
person, composed from :func:`personlab_mm.functional.assign_pixels`."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..functional import (assign_pixels, greedy_accept, near_cells,
                          sample_points, select)


def weighted_median(values: Tensor, weights: Tensor) -> Tensor:
    """The lower weighted median over axis 1, per row and coordinate.

    Args:
        values (Tensor): (J, K, D).
        weights (Tensor): (J, K) non-negative.

    Returns:
        Tensor: (J, D); NaN for rows whose weights are all 0.
    """
    order = values.argsort(dim=1)
    sorted_values = values.gather(1, order)
    cum = weights[..., None].expand_as(values).gather(1, order).cumsum(1)
    total = cum[:, -1:]
    first = (cum >= total / 2).to(torch.uint8).argmax(dim=1, keepdim=True)
    median = sorted_values.gather(1, first)[:, 0]
    return torch.where(total[:, 0] > 0, median,
                       torch.full_like(median, float('nan')))


def person_centroids(keypoints: Tensor, keypoint_probs: Tensor,
                     segmentation: Tensor, mask_offsets: Tensor,
                     stride: float, centroid_index: Optional[int] = None,
                     seg_threshold: float = 0.5) -> Tensor:
    """The centre of attraction of each decoded person.

    With a keypoint centroid (``centroid_index``) it is that decoded
    keypoint. With the mask-mean centroid (Eq. 2) it is found where the
    person's own pixels point: the embeddings ``y_{j,k} + MO(y_{j,k})`` read
    at the person's keypoints that lie on person pixels, combined by their
    weighted median (weights: the keypoint probabilities), which ignores
    the keypoints that lie on someone else (occlusion) as long as most lie
    on the person. A person with no keypoint on person pixels falls back
    to the probability-weighted mean of its keypoints.

    Args:
        keypoints (Tensor): (J, K, 2) input pixels.
        keypoint_probs (Tensor): (J, K) in [0, 1].
        segmentation (Tensor): (H, W) person probabilities.
        mask_offsets (Tensor): (2, H, W) mask offsets in input pixels.
        stride (float): Grid stride.
        centroid_index (int, optional): The centroid keypoint; None: the
            mask mean.
        seg_threshold (float): Person probability of a person pixel.

    Returns:
        Tensor: (J, 2) centroids in input pixels.
    """
    if centroid_index is not None:
        return keypoints[:, centroid_index]
    J, K, _ = keypoints.shape
    xy = torch.nan_to_num(keypoints.reshape(-1, 2).to(mask_offsets.dtype))
    read = sample_points(
        torch.cat([mask_offsets, segmentation[None].to(mask_offsets.dtype)]),
        xy[:, 0] / stride, xy[:, 1] / stride)  # (3, J K)
    embeddings = (xy + read[:2].T).view(J, K, 2)
    probs = torch.nan_to_num(keypoint_probs.to(xy.dtype)).clamp(0, 1)
    on_person = (read[2] >= seg_threshold).view(J, K)
    centroids = weighted_median(embeddings, probs * on_person)
    weights = probs + 1e-6  # a person with all probabilities 0: plain mean
    mean = (xy.view(J, K, 2) * weights[..., None]).sum(1) / weights.sum(
        1, keepdim=True)
    return torch.where(torch.isnan(centroids), mean, centroids)


def shared_centroids(centroids: Tensor, scales: Tensor,
                     distance_threshold: float,
                     valid: Optional[Tensor] = None) -> Tensor:
    r"""Which person's mask each decoded person takes.

    People come by descending score. A person whose centroid lies within
    ``distance_threshold`` times a better person's scale of that person's
    centroid is a second pose of the same body (a duplicate, or a false
    detection on it): it takes that person's mask instead of competing for
    the body's pixels, which would split them between the two. The better
    people are chosen greedily (:func:`~personlab_mm.functional.
    greedy_accept`, one host transfer).

    Args:
        centroids (Tensor): (J, 2) input pixels.
        scales (Tensor): (J,) :math:`\lambda_j`.
        distance_threshold (float): t.
        valid (Tensor, optional): (J,) bool, the people (padding excluded).

    Returns:
        Tensor: (J,) long; ``j`` for a person who owns pixels itself.
    """
    J = centroids.shape[0]
    one = torch.arange(J, device=centroids.device)
    near = torch.cdist(centroids, centroids) <= (distance_threshold *
                                                 scales)[None, :]
    blocked = near & (one[None, :] < one[:, None])  # [x, n]: n better
    alive = None if valid is None else valid.cpu().numpy()
    accepted = torch.as_tensor(
        greedy_accept(blocked.cpu().numpy(), J, alive), dtype=torch.long,
        device=centroids.device)
    if accepted.numel() == 0:
        return one
    takes = blocked[:, accepted] | (one[:, None] == accepted[None, :])
    return torch.where(takes.any(dim=1),
                       accepted[takes.to(torch.uint8).argmax(dim=1)], one)


def centroid_cell_distances(segmentation: Tensor, mask_offsets: Tensor,
                            stride: float, centroids: Tensor,
                            seg_threshold: float,
                            fixed: bool = False) -> Tensor:
    """(J, H, W) Eq. 4 distances ``||x + MO(x) - C_j||`` at the cells within
    one cell of a person cell (every cell when ``fixed``); +inf
    elsewhere."""
    H, W = segmentation.shape
    J = centroids.shape[0]
    cells = select(near_cells(segmentation >= seg_threshold).view(-1),
                   fixed)[0]
    dtype = mask_offsets.dtype
    D = mask_offsets.new_full((J, H * W), float('inf'))
    mo = mask_offsets.reshape(2, H * W)[:, cells]
    ex = (cells % W).to(dtype) * stride + mo[0]
    ey = (cells // W).to(dtype) * stride + mo[1]
    D[:, cells] = torch.hypot(ex[None] - centroids[:, 0, None],
                              ey[None] - centroids[:, 1, None])
    return D.view(J, H, W)


def corner_minima(field: Tensor) -> Tensor:
    """(J, H, W): at cell ``(i, j)``, the smallest value of ``field``
    (J, H, W) over cells ``(i..i+1, j..j+1)``, the four cells bilinear
    sampling reads anywhere between them (cells off the grid count as
    +inf)."""
    padded = F.pad(field[None], (0, 1, 0, 1), value=float('inf'))
    return -F.max_pool2d(-padded, 2, stride=1)[0]


def exclusive_person_masks(segmentation: Tensor,
                           mask_offsets: Tensor,
                           stride: float,
                           centroids: Tensor,
                           scales: Tensor,
                           valid: Optional[Tensor],
                           image_to_input: Tensor,
                           image_hw: Tuple[int, int],
                           seg_threshold: float = 0.5,
                           distance_threshold: float = 0.25,
                           mode: str = 'grid',
                           axis_aligned: bool = False,
                           fixed: bool = False) -> Tensor:
    r"""Person masks on the original image grid, each pixel in at most one.

    A pixel :math:`x_i` of the image is a person pixel when the person
    probability sampled at its input position reaches ``seg_threshold``
    (the paper's :math:`p \ge 0.5`); its embedding :math:`e_i = x_i +
    MO(x_i)` joins the person with the nearest centroid (Eq. 4,
    exclusive) if its distance is at most ``distance_threshold`` times the
    person's scale :math:`\lambda_j` (the paper's relative threshold
    ``t = 0.25``), else no one.

    The mask offsets are known at the grid cells. Which person is nearest is
    decided on the interpolated field: ``mode='grid'`` interpolates the cells'
    distances :math:`\|x_c + MO(x_c) - C_j\|` bilinearly at the pixel,
    ``mode='pixel'`` samples the mask offsets there. The threshold holds when
    one of the four cells around the pixel passes it (:func:`corner_minima`):
    between the cells of two people an interpolated embedding lies half-way
    between their centroids and would belong to neither, a band of lost pixels
    along every border between people whose centroids are more than :math:`2 t
    \lambda` apart.

    Args:
        segmentation (Tensor): (H, W) person probabilities.
        mask_offsets (Tensor): (2, H, W) in input pixels.
        stride (float): Stride of the maps.
        centroids (Tensor): (J, 2) :func:`person_centroids`.
        scales (Tensor): (J,) :math:`\lambda_j` in input pixels.
        valid (Tensor, optional): (J,) bool; invalid people (padding) get
            empty masks.
        image_to_input (Tensor): (2, 3) affine from image to input pixels.
        image_hw (Tuple[int, int]): Output mask size ``(h, w)``.
        seg_threshold (float): Person probability threshold.
        distance_threshold (float): t.
        mode (str): ``'grid'`` or ``'pixel'``.
        axis_aligned (bool): The affine only scales and shifts.
        fixed (bool): Fixed shapes (grid mode).

    Returns:
        Tensor: (J, h, w) bool masks.
    """
    if mode not in ('grid', 'pixel'):
        raise ValueError(f"mode must be 'grid' or 'pixel', got {mode!r}")
    dtype = mask_offsets.dtype
    A = image_to_input.to(device=mask_offsets.device, dtype=dtype)
    seg = segmentation.to(dtype)
    C = torch.nan_to_num(centroids.to(dtype), nan=1e8)
    limits = distance_threshold * torch.nan_to_num(scales.to(dtype), nan=0.)
    owners = torch.isfinite(centroids).all(dim=1) & (limits > 0)
    owners = owners if valid is None else owners & valid
    D_cells = centroid_cell_distances(seg, mask_offsets, stride, C,
                                      seg_threshold, fixed)
    H, W = seg.shape
    close_cells = corner_minima(D_cells) <= limits[:, None, None]

    def distance(x: Tensor, y: Tensor) -> Tensor:
        if mode == 'grid':
            nearest = sample_points(D_cells, x / stride, y / stride)
        else:
            mo = sample_points(mask_offsets, x / stride, y / stride)
            nearest = torch.hypot((x + mo[0])[None] - C[:, 0, None],
                                  (y + mo[1])[None] - C[:, 1, None])
        ix = torch.floor(x / stride).clamp(0, W - 1).long()
        iy = torch.floor(y / stride).clamp(0, H - 1).long()
        close = close_cells[:, iy, ix]
        return torch.where(close, nearest, torch.full_like(nearest,
                                                           float('inf')))

    return assign_pixels(seg, stride, distance, owners, A, image_hw,
                         seg_threshold, exclusive=True,
                         axis_aligned=axis_aligned, fixed=fixed)
