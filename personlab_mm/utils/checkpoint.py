"""Safe (``weights_only``) loading of MMEngine checkpoints.

Since torch 2.6, ``torch.load`` unpickles only allow-listed classes by
default, and MMEngine 0.10.7 loads checkpoints with that default. Its
checkpoints hold the message hub (``HistoryBuffer`` objects with numpy
arrays) and numpy scalars, so resuming or testing fails with ``Unsupported
global``. Two things fix that without switching safe loading off:

- the data classes such checkpoints hold are allow-listed
  (:func:`allow_mmengine_checkpoints`, run when ``personlab_mm`` is
  imported);
- ``HistoryBuffer`` also pickles its statistic *methods* through
  ``builtins.getattr``, which must never be allow-listed (it would let a
  checkpoint reach any attribute of any allowed object, e.g. a numpy array's
  ``tofile``). :class:`~personlab_mm.engine.hooks.SafeCheckpointHook`
  stores the buffers as :class:`PortableHistoryBuffer`, which pickles data
  only.
"""
import importlib
from typing import List

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer


def _numpy_multiarray():
    """``numpy.core.multiarray`` (numpy 1) or ``numpy._core.multiarray``."""
    if int(np.__version__.split('.')[0]) >= 2:
        return importlib.import_module('numpy._core.multiarray')
    return importlib.import_module('numpy.core.multiarray')


class PortableHistoryBuffer(HistoryBuffer):
    """A ``HistoryBuffer`` that pickles its data but not the statistic
    methods (which live on the class and are registered at import anyway)."""

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop('statistics_methods', None)
        return state

    @classmethod
    def from_buffer(cls, buffer: HistoryBuffer) -> 'PortableHistoryBuffer':
        """Copy ``buffer``'s data into a portable buffer."""
        new = cls.__new__(cls)
        new.__dict__.update({
            k: v
            for k, v in buffer.__dict__.items() if k != 'statistics_methods'
        })
        return new


def mmengine_checkpoint_globals() -> List[object]:
    """Classes and functions MMEngine checkpoints pickle besides tensors."""
    multiarray = _numpy_multiarray()
    allowed = [
        HistoryBuffer,
        PortableHistoryBuffer,
        np.ndarray,
        np.dtype,
        multiarray._reconstruct,
        multiarray.scalar,
    ]
    # dtype classes (np.dtypes.Float64DType, ...) pickled with np.dtype
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return allowed


def allow_mmengine_checkpoints() -> None:
    """Allow-list MMEngine checkpoint contents for ``torch.load``."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(mmengine_checkpoint_globals())
