"""Data-loader workers that outlive a preemption signal sent to every process.

Slurm sends its preemption SIGTERM to every process of the job step, and
``kill -TERM -- -PGID`` sends it to a whole process group: the data-loader
workers get it too. PyTorch's worker loop installs a SIGTERM handler that
ends the worker unless the signal comes from its parent, so the main process
then fails in the middle of an iteration with ``DataLoader worker (pid N) is
killed by signal: Terminated`` instead of finishing the iteration and saving.

:func:`ignore_in_data_loader_workers` makes workers started afterwards ignore
chosen signals (the main process still stops them the normal way, through
their index queues, when training ends). It wraps the function PyTorch's
worker loop calls first to set up the worker's signal handlers, so it holds
for every data loader and dataset of the process. Only workers started by
``fork`` (MMEngine's default ``mp_start_method``) inherit it.
"""
import signal
from typing import Callable, Iterable, Optional, Set

from torch.utils.data._utils import signal_handling

_ignored: Set[signal.Signals] = set()
_torch_setup: Optional[Callable[[], None]] = None


def _set_worker_signal_handlers(*args, **kwargs) -> None:
    """PyTorch's worker signal set-up, then ``SIG_IGN`` for the signals
    asked for (runs in each worker, first thing in its loop)."""
    _torch_setup(*args, **kwargs)
    for sig in _ignored:
        signal.signal(sig, signal.SIG_IGN)


def ignore_in_data_loader_workers(signals: Iterable[signal.Signals]) -> None:
    """Make data-loader workers forked from now on ignore ``signals``.

    Args:
        signals (Iterable[signal.Signals]): e.g. ``[signal.SIGTERM]``.
    """
    global _torch_setup
    if _torch_setup is None:
        _torch_setup = signal_handling._set_worker_signal_handlers
        signal_handling._set_worker_signal_handlers = \
            _set_worker_signal_handlers
    _ignored.update(signals)


def stop_ignoring_in_data_loader_workers(
        signals: Iterable[signal.Signals]) -> None:
    """Undo :func:`ignore_in_data_loader_workers` for workers started from
    now on (running workers keep what they inherited)."""
    _ignored.difference_update(signals)
