"""Checkpoint files: atomic writes, full disks, unreadable checkpoints and
what ``--resume`` picks (issue 18)."""
import errno
import logging
import os
import os.path as osp

import pytest
import torch
from mmengine.logging import MMLogger

from personlab_mm.engine import (CheckpointReadError, CheckpointWriteError,
                                 atomic_write, checkpoint_problem,
                                 find_resumable_checkpoint, resolve_resume)
from personlab_mm.engine.checkpoint_io import (PARTIAL_SUFFIX,
                                               checkpoint_candidates,
                                               remove_partial_files)


def _checkpoint(path, value):
    torch.save(dict(state_dict=dict(w=torch.full((64, 64), float(value))),
                    meta=dict(iter=value)), path)
    return str(path)


def _truncate(path, size=None):
    size = os.path.getsize(path) // 2 if size is None else size
    with open(path, 'r+b') as f:
        f.truncate(size)


def _run_dir(tmp_path, steps=(2, 4, 6), pointer=6):
    work = tmp_path / 'work'
    work.mkdir()
    for step in steps:
        _checkpoint(work / f'iter_{step}.pth', step)
    (work / 'last_checkpoint').write_text(str(work / f'iter_{pointer}.pth'))
    return work


def test_atomic_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    path = tmp_path / 'sub' / 'iter_2.pth'
    atomic_write(b'first', path)
    atomic_write('second', path)
    assert path.read_bytes() == b'second'
    assert os.listdir(tmp_path / 'sub') == ['iter_2.pth']


def _full_disk_after(monkeypatch, nbytes):
    """``os.write`` writes ``nbytes`` bytes, then the disk is full."""
    real_write, written = os.write, [0]

    def write(fd, data):
        if written[0] >= nbytes:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        count = real_write(fd, bytes(data[:nbytes - written[0]]))
        written[0] += count
        return count

    monkeypatch.setattr(os, 'write', write)


def test_full_disk_names_path_and_free_space_and_keeps_old_file(
        tmp_path, monkeypatch):
    path = tmp_path / 'iter_4.pth'
    path.write_bytes(b'the previous checkpoint')
    _full_disk_after(monkeypatch, 1000)
    with pytest.raises(CheckpointWriteError) as error:
        atomic_write(b'x' * 5000, path)
    message = str(error.value)
    assert str(path) in message and 'No space left on device' in message
    assert 'MiB free' in message and str(tmp_path) in message
    # no cut file under either name; the old file is untouched
    assert path.read_bytes() == b'the previous checkpoint'
    assert not osp.exists(str(path) + PARTIAL_SUFFIX)
    assert os.listdir(tmp_path) == ['iter_4.pth']


def test_unwritable_directory_names_the_path(tmp_path):
    blocker = tmp_path / 'not_a_dir'
    blocker.write_text('a file where the work dir should be')
    path = blocker / 'iter_2.pth'
    with pytest.raises(CheckpointWriteError, match='iter_2.pth'):
        atomic_write(b'data', path)


def test_remove_partial_files(tmp_path):
    (tmp_path / ('iter_4.pth' + PARTIAL_SUFFIX)).write_bytes(b'cut')
    (tmp_path / 'iter_2.pth').write_bytes(b'kept')
    removed = remove_partial_files(str(tmp_path))
    assert removed == [str(tmp_path / ('iter_4.pth' + PARTIAL_SUFFIX))]
    assert os.listdir(tmp_path) == ['iter_2.pth']


def test_checkpoint_problem_finds_cut_and_damaged_files(tmp_path):
    good = _checkpoint(tmp_path / 'good.pth', 1)
    assert checkpoint_problem(good) is None
    cut = _checkpoint(tmp_path / 'cut.pth', 1)
    _truncate(cut)
    assert 'unreadable' in checkpoint_problem(cut)
    damaged = _checkpoint(tmp_path / 'damaged.pth', 1)
    with open(damaged, 'r+b') as f:  # flip bytes inside the tensor data
        f.seek(os.path.getsize(damaged) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert 'CRC' in checkpoint_problem(damaged)
    assert checkpoint_problem(str(tmp_path / 'missing.pth')) == (
        'the file does not exist')


def test_candidates_newest_first_pointer_first(tmp_path):
    work = _run_dir(tmp_path, steps=(2, 4, 6, 10), pointer=6)
    names = [osp.basename(p) for p in checkpoint_candidates(str(work))]
    assert names == ['iter_6.pth', 'iter_10.pth', 'iter_4.pth', 'iter_2.pth']


@pytest.fixture
def logged():
    """Messages logged to MMEngine's current logger during the test.

    A handler on the logger itself: its console handler may hold a stream
    an earlier test's capture replaced, so stdout is not a reliable place
    to read them.
    """
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_auto_resume_skips_the_cut_newest_checkpoint(tmp_path, logged):
    work = _run_dir(tmp_path)
    _truncate(work / 'iter_6.pth', 4000)
    assert resolve_resume(str(work), 'auto') == str(work / 'iter_4.pth')
    out = '\n'.join(logged)
    assert f'Skipping checkpoint {work / "iter_6.pth"}' in out
    assert 'unreadable' in out


def test_auto_resume_with_a_cut_pointer_file(tmp_path):
    work = _run_dir(tmp_path)
    (work / 'last_checkpoint').write_text('')
    assert resolve_resume(str(work), 'auto') == str(work / 'iter_6.pth')


def test_auto_resume_without_checkpoints_starts_over(tmp_path):
    assert resolve_resume(str(tmp_path), 'auto') is None
    work = _run_dir(tmp_path, steps=(2, ), pointer=2)
    _truncate(work / 'iter_2.pth')
    assert find_resumable_checkpoint(str(work)) is None
    assert resolve_resume(str(work), 'auto') is None


def test_resume_from_an_unreadable_path_names_the_readable_one(tmp_path):
    work = _run_dir(tmp_path)
    _truncate(work / 'iter_6.pth')
    bad = str(work / 'iter_6.pth')
    with pytest.raises(CheckpointReadError) as error:
        resolve_resume(str(tmp_path / 'elsewhere'), bad)
    message = str(error.value)
    assert message.startswith(f'Cannot resume from {bad}: unreadable')
    assert f'--resume {work / "iter_4.pth"}' in message
    good = str(work / 'iter_4.pth')
    assert resolve_resume(str(work), good) == good


def test_resume_path_in_a_copied_run_names_the_checkpoint_next_to_it(
        tmp_path):
    original = _run_dir(tmp_path)
    copy = tmp_path / 'copy'
    copy.mkdir()
    for step in (2, 4, 6):  # last_checkpoint still names the original
        _checkpoint(copy / f'iter_{step}.pth', step)
    (copy / 'last_checkpoint').write_text(str(original / 'iter_6.pth'))
    _truncate(copy / 'iter_6.pth')
    with pytest.raises(CheckpointReadError,
                       match=f'--resume {copy / "iter_4.pth"}'):
        resolve_resume(str(copy), str(copy / 'iter_6.pth'))
