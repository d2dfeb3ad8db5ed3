"""End to end through the toolbox, as real subprocesses run outside the repo:
``mim train`` (editable and regular installs), ``--resume``, safe checkpoint
loading, and PersonLab parts dropped into MMPose's own DEKR config."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
from personlab_testing import REPO_ROOT, mim_executable, run_command

pytestmark = pytest.mark.slow


# a few tiny iterations: 8 synthetic images, batch 2, no worker processes
QUICK = [
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.dataset.num_images=8',
    'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1'
]


def _mim_train(cwd, work_dir, iters, extra=(), env=None):
    return run_command([
        mim_executable(), 'train', 'personlab_mm', 'r18_synthetic.py',
        '--work-dir', work_dir, *extra, '--cfg-options',
        f'train_cfg.max_iters={iters}', *QUICK
    ], cwd=cwd, env=env)


def test_mim_train_writes_checkpoint_that_resumes_and_loads_safely(
        tmp_path):
    work = str(tmp_path / 'work')
    log = _mim_train(str(tmp_path), work, iters=2)
    assert 'we find the config file in codebase personlab_mm' in log
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    # torch's safe loading stays on: personlab_mm allow-lists what
    # MMEngine checkpoints hold
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert 'state_dict' in state and state['meta']['iter'] == 2
    assert any(k.startswith('head.predictor.mid') for k in state['state_dict'])
    log = _mim_train(str(tmp_path), work, iters=4, extra=['--resume'])
    assert 'resumed' in log.lower() and 'iter_2.pth' in log
    resumed = torch.load(osp.join(work, 'iter_4.pth'), weights_only=True)
    assert resumed['meta']['iter'] == 4
    assert 'optimizer' in resumed
    # mim test loads it (safely) and prints both COCO metrics
    log = run_command([
        mim_executable(), 'test', 'personlab_mm', 'r18_synthetic.py', '-C',
        osp.join(work, 'iter_4.pth'), '--work-dir', work, '--cfg-options',
        'test_dataloader.dataset.num_images=4'
    ], cwd=str(tmp_path))
    assert 'coco/AP:' in log and 'coco/segm_mAP:' in log


def _copy_sources(dst):
    """Tracked project files only (no .venv, data or work dirs)."""
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'],
                           cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
                           check=True).stdout.split()
    for rel in files:
        if osp.isfile(osp.join(REPO_ROOT, rel)):
            os.makedirs(osp.dirname(osp.join(dst, rel)), exist_ok=True)
            shutil.copy2(osp.join(REPO_ROOT, rel), osp.join(dst, rel))


def test_regular_install_carries_tools_and_configs_for_mim(tmp_path):
    src, target = tmp_path / 'src', tmp_path / 'site'
    _copy_sources(str(src))
    run_command([
        sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
        '--no-build-isolation', '--target',
        str(target),
        str(src)
    ], cwd=str(tmp_path))
    mim_dir = target / 'personlab_mm' / '.mim'
    for rel in ('tools/train.py', 'tools/test.py',
                'configs/personlab/r101_coco.py',
                'configs/personlab/r18_synthetic.py'):
        assert (mim_dir / rel).is_file(), rel
        assert not (mim_dir / rel).is_symlink()
    env = dict(os.environ, PYTHONPATH=str(target))
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    work = str(run_dir / 'work')
    log = _mim_train(str(run_dir), work, iters=2, env=env)
    assert str(mim_dir / 'configs') in log  # the installed copy was used
    assert osp.isfile(osp.join(work, 'iter_2.pth'))


def test_editable_install_forwards_to_the_checkout():
    from mim.utils import get_installed_path
    root = get_installed_path('personlab_mm')
    train = osp.join(root, '.mim', 'tools', 'train.py')
    cfg = osp.join(root, '.mim', 'configs', 'personlab', 'r18_synthetic.py')
    import personlab_mm
    if osp.dirname(osp.dirname(personlab_mm.__file__)) != REPO_ROOT:
        pytest.skip('personlab_mm is not installed editable from this '
                    'checkout')
    assert osp.isfile(train) and osp.isfile(cfg)
    with open(cfg) as f:
        assert osp.join(REPO_ROOT, 'configs', 'personlab',
                        'r18_synthetic.py') in f.read()


DEKR_SWAP = textwrap.dedent('''
    """Drop the PersonLab head, codec and target transform into MMPose's own
    DEKR config; build everything and compute one loss."""
    import os.path as osp
    import sys

    import torch
    from mim.utils import get_installed_path
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS, MODELS

    data_root = sys.argv[1]
    cfg = Config.fromfile(osp.join(
        get_installed_path('mmpose'), '.mim', 'configs', 'body_2d_keypoint',
        'dekr', 'coco', 'dekr_hrnet-w32_8xb10-140e_coco-512x512.py'))
    cfg.merge_from_dict(dict(custom_imports=dict(
        imports=['personlab_mm'], allow_failed_imports=False)))
    # the only PersonLab changes: codec, head and target transform
    codec = dict(type='PersonLabCodec', input_size=(512, 512),
                 output_stride=4, radius=32.,
                 metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
                 tree_edges='personlab_coco')
    cfg.model.head = dict(type='PersonLabHead', in_channels=480,
                          decoder=codec)
    cfg.model.backbone.init_cfg = None  # no download in a test
    pipeline = [t for t in cfg.train_pipeline
                if t['type'] != 'BottomupGetHeatmapMask']
    idx = [t['type'] for t in pipeline].index('GenerateTarget')
    pipeline[idx] = dict(type='GeneratePersonLabTargets', encoder=codec)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.update(data_root=data_root, pipeline=pipeline,
                       ann_file='annotations/person_keypoints_train.json',
                       data_prefix=dict(img='images/train/'))

    # what Config.fromfile did with custom_imports, as the Runner would
    from mmengine.utils import import_modules_from_strings
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.default_scope)
    dataset = DATASETS.build(dataset_cfg)
    model = MODELS.build(cfg.model)
    batch = [dataset[i] for i in range(2)]
    data = model.data_preprocessor(
        dict(inputs=[b['inputs'] for b in batch],
             data_samples=[b['data_samples'] for b in batch]), training=True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total), losses
    total.backward()
    print('DEKR+PersonLab losses:',
          {k: round(float(v), 4) for k, v in losses.items()})
''')


def test_personlab_parts_in_mmpose_dekr_config(tmp_path, synthetic_root):
    script = tmp_path / 'dekr_swap.py'
    script.write_text(DEKR_SWAP)
    out = run_command([sys.executable, str(script), synthetic_root],
                      cwd=str(tmp_path))
    assert 'DEKR+PersonLab losses:' in out
    assert 'loss/mid' in out and 'loss/long' in out
