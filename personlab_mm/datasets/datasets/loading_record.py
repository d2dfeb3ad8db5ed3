"""Which sample a data-loader worker was loading when it died.

When a worker process dies (killed by the kernel's OOM killer, a crash in
an image decoder, a signal), PyTorch reports only its process id. Datasets
with :class:`RecordsLoadingSample` keep, in a small table in shared memory
that the workers inherit, the sample each worker is loading;
:func:`describe_dead_workers` turns PyTorch's error into one that names the
sample index and its image file.
"""
import os
import re
from typing import Iterable, Optional

import torch
from torch.utils.data import get_worker_info

#: Rows of the shared table (one per worker; worker ids wrap around).
MAX_WORKERS = 256
_DEAD_WORKER = re.compile(
    r'DataLoader worker \(pid(?:\(s\))? ([\d, ]+)\) '
    r'(?:exited unexpectedly|is killed by signal)')


class RecordsLoadingSample:
    """Mixin for MMEngine datasets: each data-loader worker writes its
    process id and the index it is loading into a shared table
    (``loading_record``, int64 ``(MAX_WORKERS, 2)``: pid, index; index -1
    between samples). Costs two tensor writes per sample; nothing is
    written in the main process."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # allocated before the workers fork, so they share it
        self.loading_record = torch.full((MAX_WORKERS, 2), -1,
                                         dtype=torch.int64).share_memory_()

    def prepare_data(self, idx: int):
        worker = get_worker_info()
        if worker is None:
            return super().prepare_data(idx)
        row = self.loading_record[worker.id % MAX_WORKERS]
        row[0], row[1] = os.getpid(), idx
        data = super().prepare_data(idx)
        row[1] = -1
        return data


def describe_dead_workers(error: BaseException,
                          datasets: Iterable[object]) -> Optional[str]:
    """PyTorch's dead-worker error, completed with what the worker loaded.

    Args:
        error (BaseException): The error a training or test loop raised.
        datasets (Iterable): The datasets whose workers may have died
            (those without a ``loading_record`` are skipped).

    Returns:
        str | None: ``None`` if ``error`` is not a dead-worker error;
        otherwise its message followed by, for each dead worker, the
        dataset, sample index and image file it was loading (or that it was
        between samples).
    """
    match = _DEAD_WORKER.search(str(error))
    if match is None:
        return None
    pids = [int(p) for p in re.findall(r'\d+', match.group(1))]
    datasets = list(datasets)
    lines = [str(error)]
    for pid in pids:
        found = []
        for dataset in datasets:
            table = getattr(dataset, 'loading_record', None)
            if table is None:
                continue
            for row_pid, idx in table.tolist():
                if row_pid == pid and idx >= 0:
                    path = dataset.get_data_info(idx).get('img_path', '?')
                    found.append(f'sample index {idx} of '
                                 f'{type(dataset).__name__}, file {path}')
        lines.append((f'Worker pid {pid} died while loading ' +
                      '; '.join(found)) if found else
                     f'Worker pid {pid} died between samples')
    return '\n'.join(lines)
