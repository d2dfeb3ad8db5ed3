"""Perfect Panoptic-DeepLab outputs from panoptic ground truth: the
training targets read at the cells of the test output grid, as the maps a
perfect network would give (one-hot semantic logits, the centre heatmap,
exact offsets)."""
import math
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from scipy import ndimage

from ..models.heads.panoptic_deeplab_head import (PANOPTIC_DEEPLAB_FIELDS,
                                                  PanopticDeepLabHead)
from ..models.utils.panoptic_targets import batch_targets
from ..structures import DenseMaps

#: Logit of the true class (softmax probability 1 - 4e-9 per other class).
CONFIDENT_LOGIT = 20.


def cells_in_image(grid: int, stride: int, scale: float,
                   size: int) -> torch.Tensor:
    """Image pixel (nearest) of each grid cell: cell ``i`` sits at input
    pixel ``i * stride``, image pixel ``(x + 0.5) / scale - 0.5``."""
    x = torch.arange(grid, dtype=torch.float64) * stride
    return ((x + 0.5) / scale - 0.5).round().clamp(0, size - 1).long()


def class_fractions(semantic: torch.Tensor, num_classes: int,
                    void_class: int, radius: float,
                    ignore_index: int) -> torch.Tensor:
    """Each class's share of the pixels around every pixel, weighted by
    the bilinear (tent) kernel of ``radius``: the stride-``radius``
    semantic output whose bilinear upsampling best follows the true
    boundaries (one-hot maps read at the cells would move every boundary
    to the nearest cell and lose structures thinner than the stride).

    Args:
        semantic (Tensor): (H, W) long classes (``ignore_index``: void,
            counted as ``void_class``, or as no class when None).
        num_classes (int): C.
        void_class (int, optional): Class of void pixels.
        radius (float): Kernel radius in pixels (the stride).
        ignore_index (int): Void label.

    Returns:
        Tensor: (C, H, W) fractions.
    """
    void = semantic == ignore_index
    labels = semantic.masked_fill(void, 0).clamp(max=num_classes - 1)
    onehot = F.one_hot(labels, num_classes).permute(2, 0, 1).float()
    onehot[:, void] = 0.
    if void_class is not None:
        onehot[void_class, void] = 1.
    r = max(int(math.ceil(radius)) - 1, 0)
    tent = 1. - torch.arange(-r, r + 1, dtype=torch.float32,
                             device=semantic.device).abs() / (r + 1)
    tent = tent / tent.sum()
    C = num_classes
    x = F.conv2d(onehot[:, None], tent.view(1, 1, 1, -1), padding=(0, r))
    x = F.conv2d(x, tent.view(1, 1, -1, 1), padding=(r, 0))
    # renormalise near the borders (zero padding)
    ones = torch.ones((1, 1, *semantic.shape), device=semantic.device)
    norm = F.conv2d(F.conv2d(ones, tent.view(1, 1, 1, -1), padding=(0, r)),
                    tent.view(1, 1, -1, 1), padding=(r, 0))
    return (x / norm).view(C, *semantic.shape)


def nearest_defined(defined: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """Row and column of the nearest ``defined`` pixel of every pixel
    (itself where defined; Euclidean distance transform).

    Args:
        defined (Tensor): (H, W) bool, not all False.

    Returns:
        tuple: (H, W) long rows and (H, W) long columns, on ``defined``'s
        device.
    """
    _, (iy, ix) = ndimage.distance_transform_edt(
        ~defined.cpu().numpy(), return_indices=True)
    return (torch.from_numpy(iy).to(defined.device),
            torch.from_numpy(ix).to(defined.device))


def extended_offsets(offsets: torch.Tensor,
                     on_thing: torch.Tensor) -> torch.Tensor:
    """Offsets on every pixel: thing pixels keep theirs, every other pixel
    points at the centre of its nearest thing pixel (the losses leave
    them free; pointing them there keeps bilinear upsampling at an
    instance's border from pulling its pixels' votes towards themselves).

    Args:
        offsets (Tensor): (2, H, W) ``(dx, dy)`` targets.
        on_thing (Tensor): (H, W) where they are defined (non-zero).

    Returns:
        Tensor: (2, H, W).
    """
    defined = on_thing > 0
    if not bool(defined.any()) or bool(defined.all()):
        return offsets
    H, W = defined.shape
    iy, ix = nearest_defined(defined)
    ys = torch.arange(H, device=offsets.device, dtype=offsets.dtype)[:, None]
    xs = torch.arange(W, device=offsets.device, dtype=offsets.dtype)[None]
    # centre of the nearest thing pixel, minus this pixel
    return torch.stack([
        offsets[0][iy, ix] + ix.to(offsets.dtype) - xs,
        offsets[1][iy, ix] + iy.to(offsets.dtype) - ys
    ])


def perfect_panoptic_maps(head: PanopticDeepLabHead,
                          sample,
                          input_hw: Tuple[int, int],
                          target_cfg: dict,
                          device: str = 'cpu',
                          void_class: int = None) -> DenseMaps:
    """The maps a perfect network gives for one test image.

    The targets (:func:`~personlab_mm.models.utils.panoptic_targets.
    batch_targets`) are computed on the image's ground truth at its
    original size (where the test pipeline loads it) and read at the
    image pixel under each cell of the output grid of the test input
    (nearest; offsets converted to input pixels). Void pixels take
    ``void_class`` (default: the first stuff class, else no class).

    Args:
        head (PanopticDeepLabHead): Gives the stride and classes.
        sample (DetDataSample): With ``gt_sem_seg``, ``gt_instances`` (and
            ``ignored_instances``) at ``ori_shape``; ``scale_factor`` of the
            test resize.
        input_hw (tuple): ``(h, w)`` of the test input.
        target_cfg (dict): Target settings, as in training.
        device (str): Device.
        void_class (int, optional): Class predicted on void pixels.

    Returns:
        DenseMaps: batch of one on the output grid.
    """
    ori_hw = tuple(sample.metainfo['ori_shape'][:2])
    t = batch_targets([sample], ori_hw, device, **target_cfg)
    stride = head.stride
    grid_hw = tuple(math.ceil(n / stride) for n in input_hw)
    sx, sy = sample.metainfo.get('scale_factor', (1., 1.))
    rows = cells_in_image(grid_hw[0], stride, sy, ori_hw[0]).to(device)
    cols = cells_in_image(grid_hw[1], stride, sx, ori_hw[1]).to(device)

    def at_cells(m: torch.Tensor) -> torch.Tensor:
        return m[..., rows[:, None], cols[None, :]]

    num_classes = head.num_classes
    num_things = head.decoder.num_things
    if void_class is None and num_things < num_classes:
        void_class = num_things
    probs = class_fractions(t.semantic[0], num_classes, void_class,
                            stride / min(sx, sy),
                            target_cfg.get('ignore_index', 255))
    offsets = at_cells(
        extended_offsets(t.offsets[0], t.offset_weights[0, 0]))
    offsets = offsets * offsets.new_tensor([sx, sy])[:, None, None]
    return DenseMaps(
        dict(semantic=at_cells(probs)[None] * CONFIDENT_LOGIT,
             centre=at_cells(t.centre), offsets=offsets[None, None]),
        PANOPTIC_DEEPLAB_FIELDS, stride)


def training_target_cfg(model_cfg: dict) -> dict:
    """The head's ``target_cfg`` of a config's model (the targets the
    model learns)."""
    return dict(model_cfg.get('head', {}).get('target_cfg') or {})


__all__: Sequence[str] = ('perfect_panoptic_maps', 'training_target_cfg',
                          'CONFIDENT_LOGIT', 'cells_in_image',
                          'class_fractions', 'nearest_defined')
