"""Fault injection (issue 18): ``r18_synthetic.py`` (and, for the
MMDetection side, ``pdl_r18_synthetic.py``) trains in a subprocess
that is killed with SIGKILL in the middle of checkpoint saves and of
iterations and preempted with SIGTERM (sent to the whole process group, as
Slurm does, data-loader worker included); each time it is restarted with
``--resume``. The final weights, EMA, optimizer and scheduler states equal
an uninterrupted run's bit for bit. A checkpoint cut short is skipped with
a warning naming it (``mim train --resume``); ``--resume PATH`` to it
fails naming the newest readable one."""
import os
import os.path as osp
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch
from personlab_testing import REPO_ROOT, mim_executable

pytestmark = pytest.mark.slow

HERE = osp.dirname(osp.abspath(__file__))
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
R18 = osp.join(REPO_ROOT, 'configs', 'personlab', 'r18_synthetic.py')
MAX_ITERS = 8
BODY = '''
custom_imports = dict(imports=['personlab_mm', 'slow_checkpoint_writes'],
                      allow_failed_imports=False)
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EMAHook', ema_type='ExponentialMovingAverage',
         momentum=0.1, update_buffers=True, priority=49),
    dict(type='NonFiniteLossHook'),
]
'''
OPTIONS = [
    '--no-validate', '--cfg-options', f'train_cfg.max_iters={MAX_ITERS}',
    'default_hooks.checkpoint.interval=2',
    'default_hooks.checkpoint.max_keep_ckpts=2',
    'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=1', 'train_dataloader.dataset.num_images=8'
]


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1',
                PYTHONPATH=os.pathsep.join(
                    [HERE, os.environ.get('PYTHONPATH', '')]))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('preemption')
    cfg = root / 'preempt_cfg.py'
    cfg.write_text(f'_base_ = [{R18!r}]\n{BODY}')
    return root, str(cfg)


def _train(root, cfg, work, extra=(), trigger=None, timeout=600,
           options=OPTIONS):
    """Run tools/train.py in its own process group; ``trigger(line)``
    returns the signal to send to the group when ``line`` appears (or
    None). Returns (exit status, output, signal sent)."""
    proc = subprocess.Popen(
        [sys.executable, TRAIN, cfg, '--work-dir', str(work), *extra,
         *options],
        cwd=str(root), env=_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)],
        daemon=True)
    reader.start()
    out, sent, deadline = [], None, time.time() + timeout
    while True:
        line = lines.get(timeout=max(1., deadline - time.time()))
        if line is None:
            break
        out.append(line)
        if sent is None and trigger is not None:
            sent = trigger(line)
            if sent is not None:
                os.killpg(proc.pid, sent)
    proc.wait(timeout=60)
    return proc.returncode, ''.join(out), sent


def _on(text, sig, delay=0.):

    def trigger(line):
        if text in line:
            time.sleep(delay)
            return sig
        return None

    return trigger


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def _assert_same_training_state(a, b):
    assert a['meta']['iter'] == b['meta']['iter'] == MAX_ITERS
    for key in ('state_dict', 'ema_state_dict'):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), (key, name)
    opt_a, opt_b = a['optimizer']['state'], b['optimizer']['state']
    assert opt_a.keys() == opt_b.keys() and len(opt_a) > 0
    for idx in opt_a:
        for k, v in opt_a[idx].items():
            assert torch.equal(torch.as_tensor(v),
                               torch.as_tensor(opt_b[idx][k])), (idx, k)
    assert a['param_schedulers'] == b['param_schedulers']


@pytest.fixture(scope='module')
def uninterrupted(setup):
    root, cfg = setup
    work = root / 'uninterrupted'
    status, log, _ = _train(root, cfg, work)
    assert status == 0, log[-6000:]
    return work


def test_kills_and_preemption_resume_bit_for_bit(setup, uninterrupted):
    root, cfg = setup
    work = root / 'killed'
    rng = random.Random(18)
    partial = f'{work}{os.sep}iter_4.pth.partial'
    # (what happens, trigger): one per start, each start with --resume
    schedule = [
        ('SIGKILL while iter_4.pth is written',
         _on(f'FSYNC {partial}', signal.SIGKILL)),
        ('SIGKILL while last_checkpoint is replaced',
         _on('last_checkpoint.partial', signal.SIGKILL)),
        ('SIGKILL in the middle of iteration 5',
         _on(f'Iter(train) [5/{MAX_ITERS}]', signal.SIGKILL,
             delay=rng.uniform(0., 0.3))),
        ('SIGTERM to the process group after iteration 6',
         _on(f'Iter(train) [6/{MAX_ITERS}]', signal.SIGTERM)),
        ('no fault', None),
    ]
    for what, trigger in schedule:
        start = time.time()
        status, log, sent = _train(root, cfg, work, ['--resume'], trigger)
        print(f'{what}: exit {status} after {time.time() - start:.1f} s')
        if trigger is None:
            assert status == 0, log[-6000:]
        elif sent == signal.SIGKILL:
            assert status == -signal.SIGKILL, (what, log[-6000:])
        else:  # SIGTERM: a checkpoint at the end of the iteration, exit 0
            assert sent == signal.SIGTERM, (what, log[-6000:])
            assert status == 0, log[-6000:]
            assert 'Received SIGTERM: saved' in log, log[-6000:]
            assert 'Iter(train) [8/' not in log
        # a kill leaves the pointer and the checkpoint it names valid
        with open(work / 'last_checkpoint') as f:
            _load(f.read().strip())
    assert not [n for n in os.listdir(work) if n.endswith('.partial')]
    _assert_same_training_state(
        _load(uninterrupted / f'iter_{MAX_ITERS}.pth'),
        _load(work / f'iter_{MAX_ITERS}.pth'))


def test_cut_checkpoint_is_skipped_with_a_warning(setup, uninterrupted):
    root, cfg = setup
    work = root / 'cut'
    shutil.copytree(uninterrupted, work)
    final = work / f'iter_{MAX_ITERS}.pth'
    previous = work / f'iter_{MAX_ITERS - 2}.pth'
    os.truncate(final, os.path.getsize(final) // 2)
    (work / 'last_checkpoint').write_text(str(final))  # as if run here
    # --resume PATH to the cut file: a clear error naming the readable one
    status, log, _ = _train(root, cfg, work, ['--resume', str(final)])
    assert status != 0
    assert f'Cannot resume from {final}: unreadable' in log, log[-3000:]
    assert f'--resume {previous}' in log
    # --resume (automatic) through mim, as a user runs it
    proc = subprocess.run(
        [mim_executable(), 'train', 'personlab_mm', cfg, '--work-dir',
         str(work), '--resume', *OPTIONS], cwd=str(root), env=_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert f'Skipping checkpoint {final}: unreadable' in proc.stdout
    assert f'Iter(train) [{MAX_ITERS}/{MAX_ITERS}]' in proc.stdout
    assert f'Iter(train) [{MAX_ITERS - 2}/' not in proc.stdout
    _assert_same_training_state(
        _load(uninterrupted / f'iter_{MAX_ITERS}.pth'), _load(final))


PDL = osp.join(REPO_ROOT, 'configs', 'panoptic_deeplab',
               'pdl_r18_synthetic.py')
PDL_ITERS = 6
PDL_OPTIONS = [
    '--no-validate', '--cfg-options', f'train_cfg.max_iters={PDL_ITERS}',
    'default_hooks.checkpoint.interval=2',
    'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=1', 'train_dataloader.dataset.num_images=8'
]


def test_mmdetection_side_preemption_resumes_bit_for_bit(tmp_path):
    """The same safety on an MMDetection-side config (Panoptic-DeepLab,
    ``det_runtime.py``): SIGTERM to the process group after iteration 3
    saves a checkpoint and exits 0; ``--resume`` finishes with the weights,
    optimizer and scheduler of an uninterrupted run."""
    def train(work, extra=(), trigger=None):
        return _train(tmp_path, PDL, work, extra, trigger,
                      options=PDL_OPTIONS)

    status, log, _ = train(tmp_path / 'uninterrupted')
    assert status == 0, log[-6000:]
    work = tmp_path / 'preempted'
    status, log, sent = train(work, ['--resume'],
                              _on(f'Iter(train) [3/{PDL_ITERS}]',
                                  signal.SIGTERM))
    assert sent == signal.SIGTERM and status == 0, log[-6000:]
    assert 'Received SIGTERM: saved' in log, log[-6000:]
    assert f'Iter(train) [{PDL_ITERS}/' not in log
    status, log, _ = train(work, ['--resume'])
    assert status == 0, log[-6000:]
    a = _load(tmp_path / 'uninterrupted' / f'iter_{PDL_ITERS}.pth')
    b = _load(work / f'iter_{PDL_ITERS}.pth')
    assert a['meta']['iter'] == b['meta']['iter'] == PDL_ITERS
    for name in a['state_dict']:
        assert torch.equal(a['state_dict'][name], b['state_dict'][name]), \
            name
    assert a['param_schedulers'] == b['param_schedulers']
