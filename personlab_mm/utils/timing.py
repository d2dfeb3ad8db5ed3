"""Per-stage wall time of decoding, device-synchronised."""
import time
from contextlib import contextmanager
from typing import Dict, Optional

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
