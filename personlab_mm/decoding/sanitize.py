"""Make any network output decodable: the single place where non-finite
and out-of-range values are dealt with before decoding."""
import math
from typing import TYPE_CHECKING, Iterable

import torch
from torch import Tensor

if TYPE_CHECKING:  # pragma: no cover
    from .decoder import PersonLabMaps

PROBABILITY_FIELDS = ('heatmaps', 'segmentation')
OFFSET_FIELDS = ('short_offsets', 'mid_offsets', 'long_offsets')
ALL_FIELDS = PROBABILITY_FIELDS + OFFSET_FIELDS

#: Offsets are clamped to this many input pixels beyond 4 grid extents.
OFFSET_MARGIN = 1e4


def offset_bound(maps: 'PersonLabMaps') -> float:
    """Largest offset magnitude kept, in input pixels.

    Four times the grid's extent plus :data:`OFFSET_MARGIN`: any offset
    that means something (it points at most a few image sizes away) is
    left alone, and positions built from clamped offsets stay far outside
    the grid while their squared distances stay finite in float32.
    """
    H, W = maps.heatmaps.shape[-2:]
    return 4. * float(maps.stride) * max(H, W) + OFFSET_MARGIN


def _as_float(x: Tensor) -> Tensor:
    """Half-precision maps (AMP) are decoded in float32."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def sanitize_maps(maps: 'PersonLabMaps',
                  fields: Iterable[str] = ALL_FIELDS) -> 'PersonLabMaps':
    """Bring every value of the network's maps into the range the decoder
    is built for, so that decoding never fails and never returns NaN.

    - probabilities (``heatmaps``, ``segmentation``): NaN and -inf become
      0 (nothing there), +inf becomes 1, the rest is clipped to [0, 1];
    - offsets (``short_offsets``, ``mid_offsets``, ``long_offsets``): NaN
      becomes 0 (no displacement), +-inf and huge values are clipped to
      +-:func:`offset_bound` (they point far off the grid, where votes and
      samples are dropped);
    - float16/bfloat16 maps are converted to float32.

    Finite, in-range maps come back with identical values. The input is
    not modified.

    Args:
        maps (PersonLabMaps): Dense outputs of one image (or a batch).
        fields (Iterable[str]): The fields to sanitise (the others are
            passed through); defaults to all five.

    Returns:
        PersonLabMaps: the sanitised maps.

    Raises:
        ValueError: if ``maps.stride`` is not a positive finite number (a
            configuration error, not a network output).
    """
    stride = float(maps.stride)
    if not (math.isfinite(stride) and stride > 0):
        raise ValueError(f'maps.stride must be a positive finite number, '
                         f'got {maps.stride!r}')
    bound = offset_bound(maps)
    fields = tuple(fields)
    unknown = set(fields) - set(ALL_FIELDS)
    if unknown:
        raise ValueError(f'unknown map fields {sorted(unknown)}')
    tensors = [_as_float(getattr(maps, name)) for name in fields]
    limits = [(0., 1.) if name in PROBABILITY_FIELDS else (-bound, bound)
              for name in fields]
    # one read pass per field and one host sync: network outputs are
    # normally in range and then come back untouched (NaN fails both
    # comparisons)
    ranges = torch.stack([
        torch.stack(torch.aminmax(x)).double() if x.numel() else
        x.new_zeros(2, dtype=torch.float64) for x in tensors
    ]).tolist()
    changes = {}
    for name, x, (lo, hi), (vmin, vmax) in zip(fields, tensors, limits,
                                               ranges):
        if vmin >= lo and vmax <= hi:
            changes[name] = x
        else:  # clamp keeps NaN and sends +-inf to the limits
            changes[name] = x.clamp(lo, hi).nan_to_num_(0.)
    return maps._replace(**changes)
