"""Data-loader workers forked after ``ignore_in_data_loader_workers`` outlive
a SIGTERM; without it PyTorch's worker dies and fails the loop."""
import os
import signal
import subprocess
import sys
import time

import pytest
from torch.utils.data import DataLoader, Dataset

from personlab_mm.engine.worker_signals import (
    ignore_in_data_loader_workers, stop_ignoring_in_data_loader_workers)


class _WorkerPids(Dataset):

    def __len__(self):
        return 1000

    def __getitem__(self, idx):
        return os.getpid()


def _worker_pid_and_iterator():
    iterator = iter(DataLoader(_WorkerPids(), batch_size=None, num_workers=1))
    return int(next(iterator)), iterator


def test_workers_started_after_the_call_ignore_sigterm():
    ignore_in_data_loader_workers([signal.SIGTERM])
    try:
        pid, iterator = _worker_pid_and_iterator()
    finally:
        stop_ignoring_in_data_loader_workers([signal.SIGTERM])
    os.kill(pid, signal.SIGTERM)
    time.sleep(0.5)
    assert [int(next(iterator)) for _ in range(3)] == [pid] * 3
    del iterator  # shut down normally, through the index queue


EXIT_WITH_A_LIVE_WORKER = """
import signal
from torch.utils.data import DataLoader
from personlab_mm.engine.worker_signals import ignore_in_data_loader_workers
ignore_in_data_loader_workers([signal.SIGTERM])
iterator = iter(DataLoader(range(1000), batch_size=None, num_workers=1))
print(next(iterator))  # the worker still runs when the interpreter exits
"""


def test_the_process_exits_with_a_worker_that_ignores_sigterm():
    # multiprocessing's exit handler SIGTERMs daemonic children and joins
    # them: without the exit handler of worker_signals this waits forever
    proc = subprocess.run([sys.executable, '-c', EXIT_WITH_A_LIVE_WORKER],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == '0', proc.stdout


def test_without_it_a_sigterm_kills_the_worker():
    pid, iterator = _worker_pid_and_iterator()
    with pytest.raises(RuntimeError, match=r'DataLoader worker \(pid'):
        os.kill(pid, signal.SIGTERM)
        time.sleep(2)
        for _ in range(3):
            next(iterator)
