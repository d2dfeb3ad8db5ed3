"""Stop training (or skip the step) when a loss term is not finite."""
from typing import Dict, List, Optional

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS  # every toolbox scope finds it

ACTIONS = ('raise', 'skip')


class NonFiniteLossError(FloatingPointError):
    """A loss term was NaN or infinite."""


class _SkipStep(Exception):
    """Raised inside ``train_step`` to leave it before the backward pass."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Check every loss term of every training step before the backward
    pass; on NaN or inf, stop with an error naming the terms and the
    iteration, or skip the step.

    MMEngine sums the loss terms and hands the total to the optimizer
    wrapper, which back-propagates and steps whatever it is: one NaN
    silently turns every weight into NaN. This hook wraps the model's
    ``parse_losses`` (where the terms are still separate) and
    ``train_step`` (so that a skipped step leaves before ``backward`` and
    ``optimizer.step``: weights, optimizer state and EMA stay untouched).
    In distributed runs the verdict is all-reduced, so every rank raises or
    skips together (a rank that skipped alone would leave the others
    waiting in the gradient all-reduce).

    Put it in ``custom_hooks``::

        custom_hooks = [dict(type='NonFiniteLossHook', action='raise')]

    Args:
        action (str): ``'raise'`` (default): raise
            :class:`NonFiniteLossError`; ``'skip'``: log a warning, drop
            the step and go on.
        max_consecutive_skips (int, optional): With ``'skip'``, raise after
            this many non-finite steps in a row (the run has diverged).
            None never raises. Defaults to 10.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 action: str = 'raise',
                 max_consecutive_skips: Optional[int] = 10) -> None:
        if action not in ACTIONS:
            raise ValueError(f'action must be one of {ACTIONS}, got '
                             f'{action!r}')
        if max_consecutive_skips is not None and max_consecutive_skips < 1:
            raise ValueError('max_consecutive_skips must be positive or '
                             f'None, got {max_consecutive_skips}')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.consecutive_skips = 0
        self.total_skips = 0
        self._patched: List[tuple] = []

    # ------------------------------------------------------------ wrapping
    def before_train(self, runner) -> None:
        model = runner.model
        module = model.module if is_model_wrapper(model) else model
        parse_losses, train_step = module.parse_losses, model.train_step

        def checked_parse_losses(losses: Dict[str, torch.Tensor]):
            loss, log_vars = parse_losses(losses)
            self._check(runner, log_vars)
            return loss, log_vars

        def guarded_train_step(data, optim_wrapper):
            try:
                log_vars = train_step(data, optim_wrapper)
            except _SkipStep:
                optim_wrapper.zero_grad()
                return {}
            self.consecutive_skips = 0
            return log_vars

        self._patch(module, 'parse_losses', checked_parse_losses)
        self._patch(model, 'train_step', guarded_train_step)

    def after_train(self, runner) -> None:
        while self._patched:
            obj, name = self._patched.pop()
            delattr(obj, name)  # the class method shows through again

    def _patch(self, obj, name: str, fn) -> None:
        if name in vars(obj):
            raise RuntimeError(f'NonFiniteLossHook: {type(obj).__name__}.'
                               f'{name} is already wrapped')
        setattr(obj, name, fn)
        self._patched.append((obj, name))

    # ------------------------------------------------------------ checking
    def _check(self, runner, log_vars: Dict[str, torch.Tensor]) -> None:
        """Raise :class:`NonFiniteLossError` or :class:`_SkipStep` when a
        loss term is not finite on any rank."""
        names = [k for k, v in log_vars.items()
                 if 'loss' in k and isinstance(v, torch.Tensor)]
        if not names:
            return
        bad = torch.stack([
            (~torch.isfinite(log_vars[k].detach())).any().float()
            for k in names
        ])
        if dist.get_world_size() > 1:
            dist.all_reduce(bad, op='max')
        bad = bad.cpu().bool().tolist()
        if not any(bad):
            return
        terms = [k for k, b in zip(names, bad) if b]
        # name the terms; the total is only news when every term is finite
        if len(terms) > 1 and 'loss' in terms:
            terms.remove('loss')
        values = ', '.join(
            f'{k}={float(log_vars[k].detach().float().mean()):g}'
            for k in terms)
        msg = (f'non-finite loss at iteration {runner.iter + 1} (rank '
               f'{dist.get_rank()}): {values}')
        if self.action == 'raise':
            runner.logger.error(msg)
            raise NonFiniteLossError(
                msg + '; stopped before the update (NonFiniteLossHook; '
                "action='skip' skips such steps, optim_wrapper.clip_grad "
                'limits gradient spikes)')
        self.consecutive_skips += 1
        self.total_skips += 1
        if self.max_consecutive_skips is not None and \
                self.consecutive_skips >= self.max_consecutive_skips:
            runner.logger.error(msg)
            raise NonFiniteLossError(
                f'{msg}; {self.consecutive_skips} non-finite steps in a '
                'row, the run has diverged (NonFiniteLossHook)')
        runner.logger.warning(
            f'{msg}; step skipped ({self.consecutive_skips} in a row, '
            f'{self.total_skips} in total)')
        raise _SkipStep()
