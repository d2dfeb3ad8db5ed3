"""A data-loader worker that dies is reported with the sample index and
file it was loading (issue 18)."""
import os
import signal

import pytest
from mmengine.dataset import BaseDataset
from torch.utils.data import DataLoader

from personlab_mm.datasets import RecordsLoadingSample, describe_dead_workers


class _Images(RecordsLoadingSample, BaseDataset):

    def load_data_list(self):
        return [dict(img_path=f'/data/images/{i:04d}.jpg') for i in range(8)]


def _die_at(index):

    def load(info):
        if info['sample_idx'] == index:
            os.kill(os.getpid(), signal.SIGKILL)
        return info['sample_idx']

    return load


def test_dead_worker_names_sample_index_and_file():
    dataset = _Images(pipeline=[_die_at(5)], serialize_data=False)
    loader = DataLoader(dataset, batch_size=1, num_workers=1,
                        collate_fn=lambda batch: batch)
    with pytest.raises(RuntimeError) as error:
        list(loader)
    message = describe_dead_workers(error.value, [dataset])
    assert message is not None, str(error.value)
    assert message.startswith(str(error.value))
    assert 'died while loading sample index 5 of _Images' in message
    assert 'file /data/images/0005.jpg' in message


def test_other_errors_are_left_alone():
    dataset = _Images(pipeline=[], serialize_data=False)
    assert describe_dead_workers(RuntimeError('shape mismatch'),
                                 [dataset]) is None
    # in the main process nothing is recorded
    assert dataset[2]['sample_idx'] == 2
    assert (dataset.loading_record == -1).all()


def test_worker_that_was_between_samples():
    dataset = _Images(pipeline=[], serialize_data=False)
    error = RuntimeError('DataLoader worker (pid(s) 4242) exited '
                         'unexpectedly')
    message = describe_dead_workers(error, [dataset])
    assert message.splitlines()[1] == 'Worker pid 4242 died between samples'
