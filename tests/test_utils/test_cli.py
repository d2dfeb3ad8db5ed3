"""The tools' error path for dead data-loader workers (issue 18)."""
import os
import signal
from types import SimpleNamespace

import pytest
from mmengine.dataset import BaseDataset
from mmengine.runner import BaseLoop
from torch.utils.data import DataLoader

from personlab_mm.datasets import RecordsLoadingSample
from personlab_mm.utils.cli import naming_samples_of_dead_workers


class _Images(RecordsLoadingSample, BaseDataset):

    def load_data_list(self):
        return [dict(img_path=f'/data/images/{i:04d}.jpg') for i in range(4)]


class _Loop(BaseLoop):

    def run(self):
        return [batch for batch in self.dataloader]


def _kill_at_2(info):
    if info['sample_idx'] == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return info['sample_idx']


def _runner_testing(pipeline):
    loader = DataLoader(_Images(pipeline=pipeline, serialize_data=False),
                        batch_size=1, num_workers=1,
                        collate_fn=lambda batch: batch)
    runner = SimpleNamespace(_train_loop=None, _val_loop=dict(type='x'))
    runner._test_loop = _Loop(runner, loader)
    return runner


def test_dead_worker_error_names_the_sample():
    runner = _runner_testing([_kill_at_2])
    with pytest.raises(RuntimeError) as error:
        with naming_samples_of_dead_workers(runner):
            runner._test_loop.run()
    assert str(error.value).startswith('DataLoader worker (pid')
    assert ('died while loading sample index 2 of _Images, file '
            '/data/images/0002.jpg') in str(error.value)


def test_other_errors_pass_unchanged():
    runner = _runner_testing([])
    original = RuntimeError('shape mismatch')
    with pytest.raises(RuntimeError) as error:
        with naming_samples_of_dead_workers(runner):
            raise original
    assert error.value is original
