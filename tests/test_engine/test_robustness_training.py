"""Training robustness: non-finite losses stop the run (or skip the step)
naming the term and the iteration; gradient clipping from the config
(issue 6, item 2). The exact ``--resume`` check and the distributed run
are in ``test_robustness_e2e.py``."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from personlab_testing import REPO_ROOT
from torch import nn

from personlab_mm.engine import NonFiniteLossError, NonFiniteLossHook

CONFIGS = osp.join(REPO_ROOT, 'configs', 'personlab')


class _Toy(BaseModel):
    """Two loss terms; ``loss_b`` is NaN (or inf) at the given calls."""

    def __init__(self, bad_at=(), value=float('nan'), scale=1.):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))
        self.bad_at, self.value, self.scale = set(bad_at), value, scale
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(list(inputs)) if isinstance(inputs, list) else inputs
        out = (self.w * x).sum() * self.scale
        if mode != 'loss':
            return out
        self.calls += 1
        b = out * 0.5
        if self.calls in self.bad_at:
            b = b * self.value
        return dict(loss_a=out.abs(), loss_b=b.abs())


def _runner(tmp_path, model, iters, hooks=(), optim=None, **kw):
    data = [dict(inputs=torch.tensor([1., 2.]))] * 16
    return Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1, num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=optim or dict(
            optimizer=dict(type='Adam', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        custom_hooks=list(hooks),
        default_hooks=dict(checkpoint=None, logger=dict(
            type='LoggerHook', interval=1)),
        default_scope='mmpose',
        experiment_name=f'toy_{id(model)}',
        **kw)


def test_without_the_hook_nan_silently_spoils_the_weights(tmp_path):
    # the failure mode the hook exists for: MMEngine trains on
    runner = _runner(tmp_path, _Toy(bad_at={2}), iters=3)
    runner.train()
    assert not torch.isfinite(runner.model.w).all()


def test_nonfinite_loss_stops_naming_term_and_iteration(tmp_path):
    model = _Toy(bad_at={3})
    runner = _runner(tmp_path, model, iters=6,
                     hooks=[dict(type='NonFiniteLossHook')])
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration 3 \(rank 0\): loss_b=nan'):
        runner.train()
    # stopped before the update: the weights are those after 2 steps
    assert torch.isfinite(model.w).all()
    state = runner.optim_wrapper.optimizer.state[model.w]
    assert int(state['step']) == 2


def test_inf_loss_also_stops(tmp_path):
    model = _Toy(bad_at={1}, value=float('inf'))
    runner = _runner(tmp_path, model, iters=2,
                     hooks=[dict(type='NonFiniteLossHook')])
    with pytest.raises(NonFiniteLossError, match='iteration 1.*loss_b=inf'):
        runner.train()


def test_skip_mode_skips_exactly_the_bad_steps(tmp_path):
    model = _Toy(bad_at={2, 5})
    runner = _runner(tmp_path, model, iters=6,
                     hooks=[dict(type='NonFiniteLossHook', action='skip')])
    runner.train()
    # reference: the same run without the two bad batches
    ref = _Toy()
    _runner(tmp_path / 'ref', ref, iters=4).train()
    state = runner.optim_wrapper.optimizer.state[model.w]
    assert int(state['step']) == 4
    torch.testing.assert_close(model.w.detach(), ref.w.detach())
    hook = [h for h in runner.hooks if isinstance(h, NonFiniteLossHook)][0]
    assert hook.total_skips == 2
    # the wrappers are removed after training
    assert 'parse_losses' not in vars(model)
    assert 'train_step' not in vars(model)


def test_skip_mode_gives_up_after_consecutive_failures(tmp_path):
    model = _Toy(bad_at={2, 3, 4})
    runner = _runner(tmp_path, model, iters=6, hooks=[
        dict(type='NonFiniteLossHook', action='skip',
             max_consecutive_skips=3)
    ])
    with pytest.raises(NonFiniteLossError, match='3 non-finite steps in a '
                       'row'):
        runner.train()


def test_hook_arguments_are_validated():
    with pytest.raises(ValueError, match='action'):
        NonFiniteLossHook(action='ignore')
    with pytest.raises(ValueError, match='max_consecutive_skips'):
        NonFiniteLossHook(max_consecutive_skips=0)


def test_clip_grad_from_the_config_bounds_the_update(tmp_path):
    # a gradient of norm ~1e6; plain SGD would move w by lr * 1e6
    model = _Toy(scale=1e6)
    optim = dict(optimizer=dict(type='SGD', lr=0.1),
                 clip_grad=dict(max_norm=1.))
    runner = _runner(tmp_path, model, iters=1, optim=optim)
    runner.train()
    step = (model.w.detach() - torch.ones(2)).norm()
    assert step <= 0.1 + 1e-6 and step > 0.05


@pytest.mark.parametrize('name', ['r101_coco.py', 'r152_coco.py',
                                  'r18_synthetic.py'])
def test_configs_clip_gradients_and_check_losses(name):
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    assert cfg.optim_wrapper.clip_grad.max_norm > 0
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert 'NonFiniteLossHook' in hooks


def test_nan_in_the_real_config_stops_naming_the_loss_term(
        tmp_path, synthetic_root):
    """r18_synthetic.py as configured (its NonFiniteLossHook): std=0 in
    the data preprocessor gives inf inputs and NaN losses at iteration 1."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'r18_synthetic.py'))
    cfg.merge_from_dict({
        'work_dir': str(tmp_path), 'train_cfg.max_iters': 2,
        'model.data_preprocessor.std': [0., 0., 0.],
        'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.data_root': synthetic_root,
        'train_dataloader.dataset.num_images': 8,
        'val_cfg': None, 'val_dataloader': None, 'val_evaluator': None,
        'default_hooks.checkpoint.interval': 1
    })
    runner = Runner.from_cfg(cfg)
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration 1 \(rank 0\): loss/heatmap=nan'):
        runner.train()
    assert runner.iter == 0  # nothing was stepped or saved
    assert not list(tmp_path.glob('iter_*.pth'))
