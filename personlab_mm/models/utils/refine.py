"""Recurrent offset refinement (PersonLab Eq. 2 and Eq. 5).

All fields are ``(B, C, 2, H, W)`` displacements in input pixels on the
grid of :mod:`personlab_mm.functional.grid`. Sampling
(:func:`~personlab_mm.functional.sample_at_offsets`) is bilinear and
differentiable with respect to both the sampled field and the sampling
positions, so gradients reach both offset branches. Positions outside the
grid sample zeros: no correction there.
"""
from torch import Tensor

from ...functional import sample_at_offsets


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
        mid = mid + sample_at_offsets(field, mid, stride)
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
        long = long + sample_at_offsets(long, long, stride)
    for _ in range(short_steps):
        long = long + sample_at_offsets(short, long, stride)
    return long
