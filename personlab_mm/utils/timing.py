"""Wall time, device-synchronised: per decoding stage (:class:`Stopwatch`)
and medians of repeated calls for the benchmarks (:func:`timed`)."""
import statistics
import time
from contextlib import contextmanager
from typing import Callable, Dict, Optional

import torch


class Stopwatch:
    """Per-stage wall time in milliseconds (device-synchronised), added to
    ``timings[name]`` when ``timings`` is a dict; free otherwise.

    Example::

        clock = Stopwatch(timings, device)
        with clock('hough'):
            ...
    """

    def __init__(self, timings: Optional[Dict[str, float]],
                 device: torch.device) -> None:
        self.timings = timings
        self.sync = (torch.cuda.synchronize
                     if torch.device(device).type == 'cuda' else
                     (lambda: None))

    @contextmanager
    def __call__(self, name: str):
        if self.timings is None:
            yield
            return
        self.sync()
        start = time.perf_counter()
        yield
        self.sync()
        self.timings[name] = self.timings.get(name, 0.) + (
            time.perf_counter() - start) * 1e3


def timed(fn: Callable, repeats: int, warmup: int = 2,
          sync: Callable = lambda: None) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeats``
    calls, after ``warmup`` calls; ``sync`` (e.g.
    ``torch.cuda.synchronize``) runs around each timed call."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)
