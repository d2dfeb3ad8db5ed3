"""Data-loader workers that outlive a preemption signal sent to every process.

Slurm sends its preemption SIGTERM to every process of the job step, and
``kill -TERM -- -PGID`` sends it to a whole process group: the data-loader
workers get it too. PyTorch's worker loop installs a SIGTERM handler that
ends the worker unless the signal comes from its parent, so the main process
then fails in the middle of an iteration with ``DataLoader worker (pid N) is
killed by signal: Terminated`` instead of finishing the iteration and saving.

:func:`ignore_in_data_loader_workers` makes workers started afterwards ignore
chosen signals. It wraps the function PyTorch's worker loop calls first to
set up the worker's signal handlers, so it holds for every data loader and
dataset of the process. Only workers started by ``fork`` (MMEngine's default
``mp_start_method``) inherit it.

The main process still stops such workers the normal way, through their
index queues, when their iterator is deleted. At interpreter exit
``multiprocessing`` instead terminates the daemonic children still running
with SIGTERM and joins them, which would wait forever for a worker that
ignores SIGTERM (seen when training stops early and the loop's iterator
is still referenced at exit). So the worker pids PyTorch registers are
recorded too, and an exit handler that runs before ``multiprocessing``'s
kills those still alive with SIGKILL.
"""
import atexit
import multiprocessing
import signal
from typing import Callable, Dict, Iterable, Optional, Set, Tuple

from torch.utils.data._utils import signal_handling

_ignored: Set[signal.Signals] = set()
_loader_worker_pids: Dict[int, Tuple[int, ...]] = {}
_torch_functions: Optional[Dict[str, Callable]] = None


def _set_worker_signal_handlers(*args, **kwargs) -> None:
    """PyTorch's worker signal set-up, then ``SIG_IGN`` for the signals
    asked for (runs in each worker, first thing in its loop)."""
    _torch_functions['_set_worker_signal_handlers'](*args, **kwargs)
    for sig in _ignored:
        signal.signal(sig, signal.SIG_IGN)


def _set_worker_pids(loader_id: int, pids: Tuple[int, ...]) -> None:
    """PyTorch's registration of a loader's workers (main process), kept
    here too for :func:`_kill_workers_left_at_exit`."""
    _torch_functions['_set_worker_pids'](loader_id, pids)
    _loader_worker_pids[loader_id] = tuple(pids)


def _remove_worker_pids(loader_id: int) -> None:
    _torch_functions['_remove_worker_pids'](loader_id)
    _loader_worker_pids.pop(loader_id, None)


def _kill_workers_left_at_exit() -> None:
    """SIGKILL the registered workers still alive (they ignore the
    SIGTERM ``multiprocessing`` would send them at exit). They are
    unregistered first, so PyTorch's SIGCHLD handler does not report them
    as failed workers."""
    pids = {pid for pids in _loader_worker_pids.values() for pid in pids}
    for loader_id in list(_loader_worker_pids):
        _remove_worker_pids(loader_id)
    for child in multiprocessing.active_children():
        if child.pid in pids:
            child.kill()
            child.join(timeout=10)


def _wrap_torch_functions() -> None:
    global _torch_functions
    if _torch_functions is not None:
        return
    _torch_functions = {}
    for name, wrapper in (('_set_worker_signal_handlers',
                           _set_worker_signal_handlers),
                          ('_set_worker_pids', _set_worker_pids),
                          ('_remove_worker_pids', _remove_worker_pids)):
        _torch_functions[name] = getattr(signal_handling, name)
        setattr(signal_handling, name, wrapper)
    # atexit runs handlers last-registered first: before multiprocessing's
    atexit.register(_kill_workers_left_at_exit)


def ignore_in_data_loader_workers(signals: Iterable[signal.Signals]) -> None:
    """Make data-loader workers forked from now on ignore ``signals``.

    Args:
        signals (Iterable[signal.Signals]): e.g. ``[signal.SIGTERM]``.
    """
    _wrap_torch_functions()
    _ignored.update(signals)


def stop_ignoring_in_data_loader_workers(
        signals: Iterable[signal.Signals]) -> None:
    """Undo :func:`ignore_in_data_loader_workers` for workers started from
    now on (running workers keep what they inherited)."""
    _ignored.difference_update(signals)
