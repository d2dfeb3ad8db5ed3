"""SafeCheckpointHook in a real (tiny, in-process) MMEngine Runner: the
previous checkpoint survives a failed save, a full disk fails the run with
a clear message, SIGTERM saves and stops at the end of the iteration
(issue 18). The kill/resume fault injection through ``mim`` is in
``tests/test_e2e/test_preemption_e2e.py``."""
import errno
import os
import os.path as osp
import signal

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpose.registry import HOOKS
from torch import nn

from personlab_mm.engine import CheckpointWriteError, SafeCheckpointHook
from personlab_mm.engine.checkpoint_io import PARTIAL_SUFFIX


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(list(inputs)) if isinstance(inputs, list) else inputs
        out = (self.w * x).sum()
        return dict(loss=out.abs()) if mode == 'loss' else out


@HOOKS.register_module(force=True)
class _SignalAtIter(Hook):
    """Sends ``sig`` to this process after iteration ``at`` (1-based)."""

    priority = 'HIGHEST'

    def __init__(self, at, sig='SIGTERM'):
        self.at, self.sig = at, signal.Signals[sig]

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), self.sig)


def _runner(tmp_path, iters=6, checkpoint=None, hooks=()):
    data = [dict(inputs=torch.tensor([1., 2.]))] * 16
    checkpoint = dict(type='SafeCheckpointHook', by_epoch=False, interval=2,
                      **(checkpoint or {}))
    return Runner(
        model=_Toy(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1, num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        default_hooks=dict(checkpoint=checkpoint),
        custom_hooks=list(hooks),
        default_scope='mmpose',
        experiment_name=f'safe_ckpt_{id(data)}')


def _pointer(work):
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read()


def test_checkpoints_load_weights_only_and_keep_the_newest(tmp_path):
    _runner(tmp_path, checkpoint=dict(max_keep_ckpts=2)).train()
    names = sorted(n for n in os.listdir(tmp_path) if n.endswith('.pth'))
    assert names == ['iter_4.pth', 'iter_6.pth']
    assert _pointer(tmp_path) == str(tmp_path / 'iter_6.pth')
    ckpt = torch.load(tmp_path / 'iter_6.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 6


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    # max_keep_ckpts=1: MMEngine's hook deletes iter_2 before writing
    # iter_4, so a save that fails (or is killed) leaves no checkpoint
    runner = _runner(tmp_path, checkpoint=dict(max_keep_ckpts=1))
    real_write = os.write

    def write(fd, data):  # the disk fills up during the second save
        if osp.exists(tmp_path / 'last_checkpoint'):
            real_write(fd, bytes(data[:100]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, 'write', write)
    with pytest.raises(CheckpointWriteError) as error:
        runner.train()
    message = str(error.value)
    assert str(tmp_path / 'iter_4.pth') in message
    assert 'No space left on device' in message and 'MiB free' in message
    monkeypatch.undo()
    assert sorted(n for n in os.listdir(tmp_path)
                  if n.startswith('iter_')) == ['iter_2.pth']
    assert _pointer(tmp_path) == str(tmp_path / 'iter_2.pth')
    torch.load(tmp_path / 'iter_2.pth', weights_only=True)


def test_partial_files_of_a_killed_save_are_removed_at_start(tmp_path):
    leftover = tmp_path / ('iter_4.pth' + PARTIAL_SUFFIX)
    leftover.write_bytes(b'cut short')
    _runner(tmp_path, iters=2).train()
    assert not leftover.exists()


def test_sigterm_saves_at_the_end_of_the_iteration_and_stops(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    runner = _runner(
        tmp_path, iters=10,
        checkpoint=dict(save_on_signals=('SIGTERM', )),
        hooks=[dict(type='_SignalAtIter', at=3)])
    runner.train()
    assert runner.iter == 3
    assert _pointer(tmp_path) == str(tmp_path / 'iter_3.pth')
    ckpt = torch.load(tmp_path / 'iter_3.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 3
    assert torch.equal(ckpt['state_dict']['w'], runner.model.w.detach())
    # the handler is gone after training
    assert signal.getsignal(signal.SIGTERM) == before


def test_sigterm_on_a_checkpoint_iteration_saves_once(tmp_path):
    runner = _runner(
        tmp_path, iters=10,
        checkpoint=dict(save_on_signals='SIGTERM'),
        hooks=[dict(type='_SignalAtIter', at=4)])
    runner.train()
    assert runner.iter == 4
    assert sorted(n for n in os.listdir(tmp_path)
                  if n.endswith('.pth')) == ['iter_2.pth', 'iter_4.pth']


def test_signal_outside_training_does_what_it_did_before(tmp_path):
    received = []
    previous = signal.signal(signal.SIGUSR1,
                             lambda signum, frame: received.append(signum))
    try:
        hook = SafeCheckpointHook(by_epoch=False, save_on_signals='SIGUSR1')
        os.kill(os.getpid(), signal.SIGUSR1)
        assert received == [signal.SIGUSR1]
        assert hook.stop_requested is None
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_bad_settings_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match='by_epoch=False'):
        SafeCheckpointHook(by_epoch=True, save_on_signals=('SIGTERM', ))
    with pytest.raises(ValueError, match="unknown signal 'SIGNOPE'"):
        SafeCheckpointHook(by_epoch=False, save_on_signals=('SIGNOPE', ))
    # in custom_hooks next to MMEngine's CheckpointHook: two savers
    runner = Runner(
        model=_Toy(), work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(2))] * 4,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=2),
        custom_hooks=[dict(type='SafeCheckpointHook', by_epoch=False)],
        default_scope='mmpose', experiment_name='two_savers')
    with pytest.raises(ValueError, match='default_hooks.checkpoint'):
        runner.train()
