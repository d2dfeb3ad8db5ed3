"""Data-dependent or fixed shapes: the two helpers that let one function
serve eager decoding and ``torch.compile``.

Decoding stages select entries (cells that vote, candidate peaks,
person pixels). Eagerly, selecting with ``nonzero`` and boolean indexing
keeps the work proportional to what is there. Under ``torch.compile`` on a
GPU, data-dependent shapes force host synchronisations and recompilations;
there the same stage keeps *every* entry and carries a validity mask
instead, so shapes depend on the map sizes only. A stage is written once
over "the selected entries and whether each is valid"; ``fixed`` only
changes how these two helpers select.
"""
from typing import Callable, Dict, Tuple

import torch
from torch import Tensor


def select(mask: Tensor, fixed: bool = False) -> Tuple[Tensor, ...]:
    """Indices of the entries of ``mask`` to work on.

    Args:
        mask (Tensor): (d0, d1, ...) bool, the entries that matter.
        fixed (bool): Return every entry (in flat order) instead of the
            true ones, so the number does not depend on the data.

    Returns:
        tuple: one (N,) long index tensor per dimension, in flat (row-major)
        order; ``N`` is ``mask.sum()`` or, when ``fixed``, ``mask.numel()``.
    """
    if not fixed:
        return torch.nonzero(mask, as_tuple=True)
    flat = torch.arange(mask.numel(), device=mask.device)
    index = []
    for size in reversed(mask.shape):
        index.append(flat % size)
        flat = flat // size
    return tuple(reversed(index))


def compact(keep: Tensor, *tensors: Tensor,
            fixed: bool = False) -> Tuple[Tensor, ...]:
    """Drop the entries ``keep`` rejects, or keep all when ``fixed`` (the
    caller then masks them with ``keep``).

    Args:
        keep (Tensor): (N,) bool.
        *tensors (Tensor): (N, ...) tensors indexed along their first
            dimension.
        fixed (bool): Keep every entry.

    Returns:
        tuple: the tensors, filtered unless ``fixed``.
    """
    if fixed:
        return tensors
    index = torch.nonzero(keep, as_tuple=True)[0]
    return tuple(t.index_select(0, index) for t in tensors)


_COMPILED: Dict[Tuple[Callable, str], Callable] = {}


def compiled(fn: Callable, mode: str = 'default') -> Callable:
    """``torch.compile(fn, mode=mode, dynamic=True)``, one wrapper per
    function and mode for the whole process (callers share compiled code;
    one compilation serves every image and map size). Meant for functions
    called with ``fixed=True``."""
    key = (fn, mode)
    if key not in _COMPILED:
        _COMPILED[key] = torch.compile(fn, mode=mode, dynamic=True)
    return _COMPILED[key]
