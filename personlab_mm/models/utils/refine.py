"""Recurrent offset refinement (PersonLab Eq. 2 and Eq. 5).

All fields are ``(B, C, 2, H, W)`` displacements in input pixels on a grid
whose cell ``(i, j)`` sits at input pixel ``(j * s, i * s)``. Sampling is
bilinear (``grid_sample``) and differentiable with respect to both the
sampled field and the sampling positions, so gradients reach both offset
branches. Positions outside the grid sample zeros: no correction there.
"""
import torch
import torch.nn.functional as F
from torch import Tensor


def sample_fields(field: Tensor, offsets: Tensor, stride: float) -> Tensor:
    """Sample ``field`` at ``x + offsets(x)`` for every cell ``x``.

    Args:
        field (Tensor): (B, C, 2, H, W) field to sample, channel ``c`` of the
            output samples channel ``c`` of ``field``.
        offsets (Tensor): (B, C, 2, H, W) displacements in input pixels.
        stride (float): Output stride ``s``.

    Returns:
        Tensor: (B, C, 2, H, W) ``field[c](x + offsets[c](x))``.
    """
    B, C, _, H, W = offsets.shape
    ys = torch.arange(H, device=offsets.device, dtype=offsets.dtype)
    xs = torch.arange(W, device=offsets.device, dtype=offsets.dtype)
    # target positions in grid cells
    gx = xs.view(1, 1, 1, W) + offsets[:, :, 0] / stride
    gy = ys.view(1, 1, H, 1) + offsets[:, :, 1] / stride
    # normalise for align_corners=True: cell 0 -> -1, cell n-1 -> +1
    gx = gx * (2. / max(W - 1, 1)) - 1.
    gy = gy * (2. / max(H - 1, 1)) - 1.
    grid = torch.stack([gx, gy], dim=-1).view(B * C, H, W, 2)
    sampled = F.grid_sample(
        field.reshape(B * C, 2, H, W).to(grid.dtype),
        grid,
        mode='bilinear',
        padding_mode='zeros',
        align_corners=True)
    return sampled.view(B, C, 2, H, W)


def refine_mid_offsets(mid: Tensor, short: Tensor, edge_targets: Tensor,
                       stride: float, steps: int = 2) -> Tensor:
    """Eq. 2: ``M_{k,l}(x) <- x' + S_l(x')`` with ``x' = x + M_{k,l}(x)``.

    Args:
        mid (Tensor): (B, E, 2, H, W) mid-range offsets.
        short (Tensor): (B, K, 2, H, W) short-range offsets.
        edge_targets (Tensor): (E,) long tensor, target keypoint ``l`` of
            each directed edge.
        stride (float): Output stride.
        steps (int): Refinement steps. Defaults to 2 (paper).

    Returns:
        Tensor: (B, E, 2, H, W) refined mid-range offsets.
    """
    field = short.index_select(1, edge_targets)
    for _ in range(steps):
        mid = mid + sample_fields(field, mid, stride)
    return mid


def refine_long_offsets(long: Tensor, short: Tensor, stride: float,
                        self_steps: int = 2, short_steps: int = 2) -> Tensor:
    """Eq. 5: twice ``L_k <- x' + L_k(x')``, then twice
    ``L_k <- x' + S_k(x')``, with ``x' = x + L_k(x)``.

    Args:
        long (Tensor): (B, K, 2, H, W) long-range offsets.
        short (Tensor): (B, K, 2, H, W) short-range offsets.
        stride (float): Output stride.
        self_steps (int): Steps with the long-range field itself.
        short_steps (int): Steps with the short-range field.

    Returns:
        Tensor: (B, K, 2, H, W) refined long-range offsets.
    """
    for _ in range(self_steps):
        long = long + sample_fields(long, long, stride)
    for _ in range(short_steps):
        long = long + sample_fields(short, long, stride)
    return long
