"""Panoptic-DeepLab training targets from MMDetection's panoptic ground
truth, computed on the (augmented, padded) network input in batched torch.

The ground truth of one image, as :class:`mmdet.structures.DetDataSample`
holds it after ``LoadPanopticAnnotations`` + transforms +
``PackDetInputs``: ``gt_sem_seg.sem_seg`` (1, h, w) class per pixel (255 =
void), ``gt_instances.masks`` (N, h, w) the non-crowd thing segments and
``ignored_instances.masks`` (M, h, w) the crowd segments (with
:class:`~personlab_mm.datasets.CrowdAwareCocoPanopticDataset`; MMDetection's
own dataset drops them from the masks while keeping their class in the
semantic map).
"""
from typing import List, NamedTuple, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


class PanopticDeepLabTargets(NamedTuple):
    """Targets of a batch on the input grid (B images, H x W pixels).

    Attributes:
        semantic (Tensor): (B, H, W) long class, ``ignore_index`` for void
            and padding.
        semantic_weights (Tensor): (B, H, W) per-pixel weight of the
            semantic loss (``small_instance_weight`` on small instances).
        centre (Tensor): (B, 1, H, W) Gaussian centre heatmap.
        centre_weights (Tensor): (B, 1, H, W) 1 where the centre loss
            counts (labelled, non-crowd pixels), else 0.
        offsets (Tensor): (B, 2, H, W) ``(dx, dy)`` from each thing pixel to
            its instance's centre of mass, in input pixels.
        offset_weights (Tensor): (B, 1, H, W) 1 on non-crowd thing pixels.
    """
    semantic: Tensor
    semantic_weights: Tensor
    centre: Tensor
    centre_weights: Tensor
    offsets: Tensor
    offset_weights: Tensor


def centres_of_mass(masks: Tensor) -> Tuple[Tensor, Tensor]:
    """Centre of mass ``(x, y)`` and area of each mask.

    Args:
        masks (Tensor): (N, H, W) bool.

    Returns:
        tuple: centres (N, 2) float (NaN for empty masks) and areas (N,)
        long.
    """
    N, H, W = masks.shape
    # per-column and per-row counts of the bool masks: no (N, H, W) float
    # copy (4 bytes per mask pixel at 1025x2049)
    columns = masks.sum(dim=1).float()  # (N, W)
    rows = masks.sum(dim=2).float()  # (N, H)
    area = columns.sum(dim=1)
    xs = torch.arange(W, dtype=torch.float32, device=masks.device)
    ys = torch.arange(H, dtype=torch.float32, device=masks.device)
    cx = (columns * xs).sum(dim=1) / area
    cy = (rows * ys).sum(dim=1) / area
    return torch.stack([cx, cy], dim=1), area.long()


def mask_owner(masks: Tensor) -> Tensor:
    """Which mask covers each pixel.

    Args:
        masks (Tensor): (N, H, W) bool, non-overlapping.

    Returns:
        Tensor: (H, W) long: ``1 +`` the index of the mask covering the
        pixel, 0 where none does (a uint8 argmax, no (N, H, W) long copy).
    """
    N, H, W = masks.shape
    if N == 0:
        return torch.zeros((H, W), dtype=torch.long, device=masks.device)
    return (masks.to(torch.uint8).argmax(dim=0) + 1) * masks.any(dim=0)


def gaussian_heatmap(centres: Tensor, hw: Tuple[int, int], sigma: float,
                     chunk: int = 16) -> Tensor:
    """Maximum of 2-D Gaussians (peak 1) at integer ``centres``, each cut
    to a ``(6 sigma + 3)`` square as in the reference implementation.

    Args:
        centres (Tensor): (N, 2) ``(x, y)`` integer pixel positions.
        hw (tuple): ``(H, W)``.
        sigma (float): Standard deviation in pixels.
        chunk (int): Gaussians evaluated at once (bounds memory).

    Returns:
        Tensor: (H, W) float heatmap.
    """
    H, W = hw
    device = centres.device
    heat = torch.zeros((H, W), device=device)
    radius = 3 * sigma + 1
    xs = torch.arange(W, device=device, dtype=torch.float32)
    ys = torch.arange(H, device=device, dtype=torch.float32)
    for start in range(0, centres.shape[0], chunk):
        c = centres[start:start + chunk].float()
        dx = xs[None] - c[:, :1]  # (n, W)
        dy = ys[None] - c[:, 1:]  # (n, H)
        gx = torch.exp(-dx.square() / (2 * sigma**2)) * (dx.abs() <= radius)
        gy = torch.exp(-dy.square() / (2 * sigma**2)) * (dy.abs() <= radius)
        heat = torch.maximum(heat, (gy[:, :, None] * gx[:, None, :]).amax(0))
    return heat


def image_targets(semantic: Tensor,
                  thing_masks: Tensor,
                  crowd_masks: Tensor,
                  ignore_index: int = 255,
                  sigma: float = 8.,
                  small_instance_area: int = 4096,
                  small_instance_weight: float = 3.) -> Tuple[Tensor, ...]:
    """Targets of one image (see :class:`PanopticDeepLabTargets`).

    Args:
        semantic (Tensor): (H, W) long class per pixel, ``ignore_index``
            for void.
        thing_masks (Tensor): (N, H, W) bool non-crowd thing segments
            (non-overlapping; an empty mask gets no centre).
        crowd_masks (Tensor): (M, H, W) bool crowd segments.
        ignore_index (int): Void label.
        sigma (float): Centre Gaussian standard deviation (pixels).
        small_instance_area (int): Instances with fewer pixels are small.
        small_instance_weight (float): Semantic weight of their pixels.

    Returns:
        tuple: semantic_weights (H, W), centre (1, H, W), centre_weights
        (1, H, W), offsets (2, H, W), offset_weights (1, H, W).
    """
    H, W = semantic.shape
    device = semantic.device
    centres, area = centres_of_mass(thing_masks)
    present = area > 0
    small = present & (area < small_instance_area)
    weights = torch.ones((H, W), device=device)
    if thing_masks.shape[0]:
        in_small = (thing_masks & small[:, None, None]).any(dim=0)
        weights[in_small] = small_instance_weight
    centre = gaussian_heatmap(centres[present].round(), (H, W), sigma)
    crowd = crowd_masks.any(dim=0) if crowd_masks.shape[0] else \
        torch.zeros((H, W), dtype=torch.bool, device=device)
    centre_weights = ((semantic != ignore_index) & ~crowd).float()
    owner = mask_owner(thing_masks)
    on_thing = owner > 0
    table = F.pad(centres.nan_to_num(0.), (0, 0, 1, 0))  # row 0: no owner
    xs = torch.arange(W, device=device, dtype=torch.float32)
    ys = torch.arange(H, device=device, dtype=torch.float32)
    offsets = torch.stack([
        (table[owner, 0] - xs[None]) * on_thing,
        (table[owner, 1] - ys[:, None]) * on_thing
    ])
    return (weights, centre[None], centre_weights[None], offsets,
            on_thing.float()[None])


def _padded(t: Tensor, hw: Tuple[int, int], value) -> Tensor:
    """(..., h, w) padded at the bottom and right to ``hw``."""
    h, w = t.shape[-2:]
    if (h, w) == tuple(hw):
        return t
    if h > hw[0] or w > hw[1]:
        raise ValueError(f'ground truth of size {(h, w)} is larger than the '
                         f'network input {tuple(hw)}')
    return F.pad(t, (0, hw[1] - w, 0, hw[0] - h), value=value)


def _masks_tensor(instances, hw: Tuple[int, int], device) -> Tensor:
    """(N, H, W) bool masks of an ``InstanceData`` (none: zero masks)."""
    masks = getattr(instances, 'masks', None) if instances is not None \
        else None
    if masks is None or len(masks) == 0:
        return torch.zeros((0, *hw), dtype=torch.bool, device=device)
    if not isinstance(masks, Tensor):
        masks = masks.to_tensor(dtype=torch.bool, device=device)
    return _padded(masks.to(device=device, dtype=torch.bool), hw, False)


def batch_targets(data_samples: Sequence, input_hw: Tuple[int, int],
                  device, **kwargs) -> PanopticDeepLabTargets:
    """Targets of a batch of ``DetDataSample`` on the padded input grid.

    Args:
        data_samples (Sequence[DetDataSample]): With ``gt_sem_seg``,
            ``gt_instances.masks`` and (for crowds) ``ignored_instances``.
        input_hw (tuple): ``(H, W)`` of the batch input.
        device: Where to compute.
        **kwargs: :func:`image_targets` settings.

    Raises:
        KeyError: naming the image when ``gt_sem_seg`` is missing.
    """
    ignore_index = kwargs.get('ignore_index', 255)
    fields: List[List[Tensor]] = [[] for _ in range(6)]
    for sample in data_samples:
        semantic, things, crowds = sample_ground_truth(
            sample, input_hw, device, ignore_index)
        fields[0].append(semantic)
        for store, value in zip(fields[1:],
                                image_targets(semantic, things, crowds,
                                              **kwargs)):
            store.append(value)
    return PanopticDeepLabTargets(*(torch.stack(f) for f in fields))


def sample_ground_truth(sample, input_hw: Tuple[int, int], device,
                        ignore_index: int = 255) -> Tuple[Tensor, ...]:
    """One ``DetDataSample``'s panoptic ground truth on the padded input
    grid.

    Returns:
        tuple: semantic (H, W) long (``ignore_index`` on void and
        padding), thing masks (N, H, W) bool, crowd masks (M, H, W) bool.

    Raises:
        KeyError: naming the image when ``gt_sem_seg`` is missing.
    """
    if 'gt_sem_seg' not in sample:
        raise KeyError(
            f'{sample.metainfo.get("img_path", "an image")} has no '
            'gt_sem_seg: load panoptic annotations with with_seg=True')
    semantic = _padded(sample.gt_sem_seg.sem_seg[0].to(device).long(),
                       input_hw, ignore_index)
    things = _masks_tensor(sample.gt_instances, input_hw, device)
    crowds = _masks_tensor(sample.get('ignored_instances'), input_hw, device)
    return semantic, things, crowds


def instance_id_targets(data_samples: Sequence, input_hw: Tuple[int, int],
                        device,
                        ignore_index: int = 255) -> Tuple[Tensor, Tensor]:
    """Semantic classes and instance ids of a batch on the padded input
    grid (the targets of embedding methods such as PanoNet).

    Args:
        data_samples (Sequence[DetDataSample]): See :func:`batch_targets`.
        input_hw (tuple): ``(H, W)`` of the batch input.
        device: Where to compute.
        ignore_index (int): Void label.

    Returns:
        tuple: semantic (B, H, W) long (``ignore_index`` on void and
        padding) and instance ids (B, H, W) long: ``1 + k`` on the pixels of
        the image's ``k``-th non-crowd thing segment, 0 elsewhere (stuff,
        void, crowds, padding).
    """
    semantic, ids = [], []
    for sample in data_samples:
        sem, things, _ = sample_ground_truth(sample, input_hw, device,
                                             ignore_index)
        semantic.append(sem)
        ids.append(mask_owner(things))
    return torch.stack(semantic), torch.stack(ids)
