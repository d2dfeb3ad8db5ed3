"""MMEngine's ``CheckpointHook`` made safe against kills, preemption and
full disks, with checkpoints loadable under ``weights_only=True``."""
import os
import os.path as osp
import signal
import threading
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.multiprocessing as mp
from mmengine.dist import all_reduce, is_distributed, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.registry import HOOKS  # every toolbox scope finds it
from mmengine.runner import IterBasedTrainLoop

from ...utils.checkpoint import PortableHistoryBuffer
from ..checkpoint_io import ATOMIC_BACKEND, atomic_write, remove_partial_files
from ..rng_state import RestoreBeforeNewBatches, capture_rng_state
from ..worker_signals import (ignore_in_data_loader_workers,
                              stop_ignoring_in_data_loader_workers)


def _parse_signals(names: Union[str, Sequence[str]]) -> List[signal.Signals]:
    """``'SIGTERM'`` / ``['SIGTERM', 'SIGUSR1']`` -> signal enums."""
    names = [names] if isinstance(names, str) else list(names)
    parsed = []
    for name in names:
        try:
            parsed.append(signal.Signals[str(name).upper()])
        except KeyError:
            raise ValueError(f'SafeCheckpointHook: save_on_signals names an '
                             f'unknown signal {name!r} (use names such as '
                             "'SIGTERM' or 'SIGUSR1')") from None
    return parsed


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose checkpoints survive kills and preemption.

    Use it in place of MMEngine's hook,
    ``default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook', ...))``
    (every config of this package does); it takes all of
    ``CheckpointHook``'s arguments. Differences:

    - **Atomic files.** Checkpoints are written to ``<name>.partial``,
      fsynced and renamed (:func:`~personlab_mm.engine.checkpoint_io.
      atomic_write`); ``last_checkpoint`` is replaced the same way, only
      after the rename. Checkpoints beyond ``max_keep_ckpts`` are deleted
      only after both (MMEngine deletes them *before* writing the new one,
      so ``max_keep_ckpts=1`` and a kill during the save left nothing).
      A kill at any moment leaves the previous checkpoint and
      ``last_checkpoint`` valid; ``.partial`` leftovers are removed when
      training starts again. A full disk or unwritable directory fails the
      run naming the path and the free space.
    - **Preemption.** With ``save_on_signals=('SIGTERM',)`` a SIGTERM (what
      Slurm and Kubernetes send before SIGKILL) makes the run save a
      checkpoint at the end of the current iteration, skip further
      validation and return normally (exit status 0); ``--resume``
      continues from it bit for bit. The handler is installed when the hook
      is built, before data-loader workers start, and workers forked after
      it ignore the signal (:mod:`~personlab_mm.engine.worker_signals`; the
      main process stops them when their loader ends, or kills them when
      it exits), so a signal sent to every process of the job, as Slurm
      does, is safe. Outside training the signal does what it did before.
      In distributed runs the ranks agree on the stop every iteration (one
      tiny all-reduce), so all stop at the same iteration. Iteration-based
      checkpoints only (``by_epoch=False``).
    - **Random state.** The checkpoint holds the main process's random
      generators (Python, NumPy, torch CPU and CUDA; MMEngine saves only
      the seed), restored on resume right before the first batch that
      was not consumed before (after the loop's replay), so dropout and
      other random layers continue bit for bit too, with or without
      data-loader workers.
    - **weights_only loading.** The message hub's buffers are saved as
      :class:`~personlab_mm.utils.checkpoint.PortableHistoryBuffer`, so
      checkpoints load with ``torch.load(..., weights_only=True)``.

    Args:
        save_on_signals (str | Sequence[str]): Signals that save and stop,
            e.g. ``('SIGTERM',)``. Defaults to none (MMEngine's behaviour:
            the signal kills the run).
        **kwargs: ``CheckpointHook``'s arguments. ``backend_args`` defaults
            to the atomic local backend for local ``out_dir``; a given
            ``backend_args`` (object stores) is used as is.
    """

    priority = 'VERY_LOW'

    def __init__(self,
                 *args,
                 save_on_signals: Union[str, Sequence[str]] = (),
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        out_dir = '' if self.out_dir is None else str(self.out_dir)
        if (self.backend_args is None and self.file_client_args is None
                and '://' not in out_dir):
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        self.save_on_signals = _parse_signals(save_on_signals)
        if self.save_on_signals and self.by_epoch:
            raise ValueError(
                'SafeCheckpointHook: save_on_signals needs iteration-based '
                'checkpoints (by_epoch=False); a checkpoint saved in the '
                'middle of an epoch cannot be resumed from that iteration')
        self.stop_requested: Optional[str] = None
        self._training = False
        self._owner_pid = os.getpid()
        self._previous_handlers: Dict[signal.Signals, object] = {}
        self._resumed_rng_state: Optional[dict] = None
        self._install_signal_handlers()

    # --- preemption ---------------------------------------------------
    def _install_signal_handlers(self) -> None:
        if not self.save_on_signals:
            return
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError(
                'SafeCheckpointHook: save_on_signals can only be used when '
                'the Runner is built in the main thread')
        for sig in self.save_on_signals:
            self._previous_handlers[sig] = signal.signal(sig, self._on_signal)
        ignore_in_data_loader_workers(self.save_on_signals)

    def _on_signal(self, signum: int, frame) -> None:
        if os.getpid() != self._owner_pid:
            return  # a data-loader worker: the main process stops it
        sig = signal.Signals(signum)
        if not self._training:
            # not training (yet, or any more): what the signal did before
            previous = self._previous_handlers.get(sig)
            signal.signal(sig,
                          signal.SIG_DFL if previous is None else previous)
            signal.raise_signal(sig)
            return
        self.stop_requested = sig.name

    def _restore_signal_handlers(self) -> None:
        stop_ignoring_in_data_loader_workers(self._previous_handlers)
        for sig, handler in self._previous_handlers.items():
            if signal.getsignal(sig) == self._on_signal:
                signal.signal(sig, handler)
        self._previous_handlers = {}

    def _stop_agreed(self) -> bool:
        """Whether any rank was asked to stop (same answer on all ranks)."""
        if not is_distributed():
            return self.stop_requested is not None
        flag = torch.tensor([float(self.stop_requested is not None)])
        all_reduce(flag, op='max')
        return bool(flag.item())

    # --- training -----------------------------------------------------
    def before_train(self, runner) -> None:
        checkpoint_hooks = [
            hook for hook in runner.hooks if isinstance(hook, CheckpointHook)
        ]
        if len(checkpoint_hooks) > 1:
            raise ValueError(
                'SafeCheckpointHook replaces MMEngine\'s CheckpointHook but '
                f'the runner has {len(checkpoint_hooks)} checkpoint hooks ('
                + ', '.join(type(h).__name__ for h in checkpoint_hooks) +
                "): set default_hooks.checkpoint=dict(type='SafeCheckpoint"
                "Hook', ...) and remove SafeCheckpointHook from custom_hooks")
        super().before_train(runner)
        if is_main_process() and '://' not in str(self.out_dir):
            for path in remove_partial_files(str(self.out_dir)):
                runner.logger.info(f'Removed {path}, the remains of a save '
                                   'that was cut short')
        start_method = mp.get_start_method(allow_none=True)
        if self.save_on_signals and start_method not in (None, 'fork'):
            runner.logger.warning(
                f'SafeCheckpointHook: data-loader workers started by '
                f'{start_method!r} do not ignore '
                f'{", ".join(s.name for s in self.save_on_signals)}; a '
                'signal sent to every process of the job stops them and the '
                "run. Use env_cfg.mp_cfg.mp_start_method='fork'.")
        self._training = True
        state, self._resumed_rng_state = self._resumed_rng_state, None
        loop = runner.train_loop
        if state is not None and hasattr(loop, 'dataloader_iterator'):
            # the loop replays the consumed batches after this hook; the
            # generators are restored right before the first new one
            loop.dataloader_iterator = RestoreBeforeNewBatches(
                loop.dataloader_iterator, loop.iter, state)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        if not self.save_on_signals or not self._stop_agreed():
            return
        step = runner.iter + 1
        name = self.filename_tmpl.format(step)
        if self.last_ckpt != self.file_backend.join_path(self.out_dir, name):
            self._save_checkpoint(runner)
        loop = runner.train_loop
        loop.stop_training = True
        if isinstance(loop, IterBasedTrainLoop):
            loop.val_begin = loop.max_iters + 1  # no validation on the way
        runner.logger.warning(
            'Received '
            f'{self.stop_requested or "a stop request on another rank"}'
            f': saved {self.last_ckpt} after iteration {step} and stopped. '
            'Continue with --resume.')

    def after_train(self, runner) -> None:
        super().after_train(runner)
        self._training = False
        self._restore_signal_handlers()

    # --- saving -------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the generators' state and the message hub's buffers as
        portable buffers."""
        checkpoint['rng_state'] = capture_rng_state()
        scalars = checkpoint.get('message_hub', {}).get('log_scalars', {})
        for key, value in list(scalars.items()):
            if isinstance(value, HistoryBuffer) and not isinstance(
                    value, PortableHistoryBuffer):
                scalars[key] = PortableHistoryBuffer.from_buffer(value)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """When resuming, keep the generators' state of the checkpoint's
        run for :meth:`before_train` (loading weights with ``load_from``
        alone does not)."""
        if getattr(runner, '_resume', False) and 'rng_state' in checkpoint:
            self._resumed_rng_state = checkpoint['rng_state']

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Write the checkpoint, then ``last_checkpoint``, then delete the
        checkpoints beyond ``max_keep_ckpts`` (same bookkeeping as
        MMEngine's hook, safer order)."""
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write(self.last_ckpt, osp.join(runner.work_dir,
                                              'last_checkpoint'))
        for old_step in outdated:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed checkpoints
                self.file_backend.rmtree(path)
