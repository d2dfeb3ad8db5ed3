"""Make any network output decodable: non-finite and out-of-range values
are brought into range by the kind of each map.

Kinds (see :class:`personlab_mm.structures.DenseMaps`):

- ``'probability'``: NaN and -inf become 0 (nothing there), +inf becomes 1,
  the rest is clipped to [0, 1];
- ``'offset'`` (input pixels): NaN becomes 0 (no displacement), +-inf and
  huge values are clipped to +-``offset_bound`` (they point far off the
  grid, where votes and samples are dropped);
- ``'logits'``: NaN becomes 0, the rest is clipped to +-:data:`LOGIT_BOUND`
  (beyond it a sigmoid or softmax is saturated anyway);
- ``'embedding'``: NaN becomes 0, the rest is clipped to
  +-:data:`EMBEDDING_BOUND`.

Half-precision maps (AMP) come back in float32; finite, in-range maps come
back with identical values, after one read pass per map and one host
synchronisation for all of them.
"""
import math
from typing import Dict, Mapping, Tuple

import torch
from torch import Tensor

KINDS = ('probability', 'offset', 'logits', 'embedding')

#: Offsets are clamped to this many input pixels beyond 4 grid extents.
OFFSET_MARGIN = 1e4
LOGIT_BOUND = 1e4
EMBEDDING_BOUND = 1e6


def offset_bound(grid_hw: Tuple[int, int], stride: float) -> float:
    """Largest offset magnitude kept, in input pixels.

    Four times the grid's extent plus :data:`OFFSET_MARGIN`: any offset
    that means something (it points at most a few image sizes away) is
    left alone, and positions built from clamped offsets stay far outside
    the grid while their squared distances stay finite in float32.
    """
    return 4. * float(stride) * max(grid_hw) + OFFSET_MARGIN


def kind_limits(kind: str, bound: float) -> Tuple[float, float]:
    """``(low, high)`` of a kind; ``bound`` is the offset bound."""
    limits = dict(probability=(0., 1.), offset=(-bound, bound),
                  logits=(-LOGIT_BOUND, LOGIT_BOUND),
                  embedding=(-EMBEDDING_BOUND, EMBEDDING_BOUND))
    if kind not in limits:
        raise ValueError(f'unknown map kind {kind!r}; expected one of '
                         f'{KINDS}')
    return limits[kind]


def _as_float(x: Tensor) -> Tensor:
    """Half-precision maps (AMP) are decoded in float32."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def sanitize_tensors(tensors: Mapping[str, Tensor], kinds: Mapping[str, str],
                     grid_hw: Tuple[int, int],
                     stride: float) -> Dict[str, Tensor]:
    """Bring every value of the given maps into the range of its kind.

    Args:
        tensors (Mapping[str, Tensor]): Maps by name.
        kinds (Mapping[str, str]): Kind of each map.
        grid_hw (Tuple[int, int]): ``(H, W)`` of the grid (offset bound).
        stride (float): Grid stride (offset bound).

    Returns:
        dict: the sanitised maps (inputs are not modified).

    Raises:
        ValueError: if ``stride`` is not a positive finite number (a
            configuration error, not a network output) or a kind is
            unknown.
    """
    stride = float(stride)
    if not (math.isfinite(stride) and stride > 0):
        raise ValueError(f'the maps\' stride must be a positive finite '
                         f'number, got {stride!r}')
    bound = offset_bound(grid_hw, stride)
    names = list(tensors)
    values = [_as_float(tensors[name]) for name in names]
    limits = [kind_limits(kinds[name], bound) for name in names]
    # one read pass per map and one host sync: network outputs are
    # normally in range and then come back untouched (NaN fails both
    # comparisons)
    ranges = torch.stack([
        torch.stack(torch.aminmax(x)).double() if x.numel() else
        x.new_zeros(2, dtype=torch.float64) for x in values
    ]).tolist() if values else []
    out = {}
    for name, x, (lo, hi), (vmin, vmax) in zip(names, values, limits,
                                               ranges):
        if vmin >= lo and vmax <= hi:
            out[name] = x
        else:  # clamp keeps NaN and sends +-inf to the limits
            out[name] = x.clamp(lo, hi).nan_to_num_(0.)
    return out
