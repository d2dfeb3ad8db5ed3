"""End to end through ``mim`` (subprocesses, as a user runs them): a COCO
set made of every degenerate case trains and evaluates; bad files fail fast
naming the file; ``--resume`` continues bit for bit (model, optimizer, EMA,
iteration); a 2-process CPU (gloo) run trains and evaluates with results
gathered across ranks (issue 6)."""
import json
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import time

import pytest
import torch
from degenerate_coco import degenerate_images, write_coco
from personlab_testing import REPO_ROOT

pytestmark = pytest.mark.slow

R18 = osp.join(REPO_ROOT, 'configs', 'personlab', 'r18_synthetic.py')
# tiny runs: batch 2, no worker processes, a few synthetic images
QUICK = [
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=1'
]
SYNTHETIC = ['train_dataloader.dataset.num_images=8',
             'val_dataloader.dataset.num_images=4',
             'test_dataloader.dataset.num_images=4']


def _mim():
    exe = shutil.which('mim', path=osp.dirname(sys.executable))
    assert exe, 'mim is not installed in this environment'
    return exe


def _run(args, cwd, ok=True, timeout=600, env=None):
    env = dict(os.environ if env is None else env, OMP_NUM_THREADS='1')
    proc = subprocess.run([_mim(), *args], cwd=str(cwd), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    if ok:
        assert proc.returncode == 0, f'{args} failed:\n{proc.stdout[-6000:]}'
    else:
        assert proc.returncode != 0, f'{args} should have failed'
    return proc.stdout


def _config(path, base, body):
    with open(path, 'w') as f:
        f.write(f'_base_ = [{base!r}]\n{body}')
    return str(path)


DATASET_BODY = '''
data_root = {root!r}
ann_file = {root!r} + '/annotations/' + {name!r} + '.json'
_dataset = dict(_delete_=True, type='PersonLabCocoDataset',
                data_root=data_root, ann_file=ann_file,
                data_prefix=dict(img='images/'), data_mode='bottomup')
train_dataloader = dict(dataset=dict(
    _dataset, pipeline={{{{_base_.train_pipeline}}}}))
val_dataloader = dict(dataset=dict(
    _dataset, test_mode=True, pipeline={{{{_base_.val_pipeline}}}}))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='CocoMetric', ann_file=ann_file, score_mode='bbox',
         nms_mode='none'),
    dict(type='PersonSegmMetric', ann_file=ann_file),
]
test_evaluator = val_evaluator
'''


def _coco_config(tmp_path, root, name='degenerate'):
    return _config(tmp_path / f'{name}_cfg.py', R18,
                   DATASET_BODY.format(root=root, name=name))


@pytest.fixture(scope='module')
def degenerate_set(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('degenerate_coco'))
    write_coco(root, degenerate_images())
    return root


def test_degenerate_set_trains_and_evaluates_with_mim(tmp_path,
                                                      degenerate_set):
    cfg = _coco_config(tmp_path, degenerate_set)
    work = tmp_path / 'work'
    log = _run(['train', 'personlab_mm', cfg, '--work-dir', str(work),
                '--cfg-options', 'train_cfg.max_iters=2',
                'train_cfg.val_interval=2',
                'default_hooks.checkpoint.interval=2', *QUICK], tmp_path)
    assert 'Iter(train) [2/2]' in log
    assert 'coco/AP:' in log and 'coco/segm_mAP:' in log
    out = tmp_path / 'preds.pkl'
    log = _run(['test', 'personlab_mm', cfg, '-C', str(work / 'iter_2.pth'),
                '--work-dir', str(work), '--out', str(out)], tmp_path)
    assert 'coco/AP:' in log and 'coco/segm_mAP:' in log
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    # every image is evaluated, the one without people and the 4000x3000
    # one included, with masks at the image size
    by_id = {p['img_id']: p for p in preds}
    assert sorted(by_id) == list(range(1, 9))
    big = by_id[8]['pred_instances']
    assert big['masks'].shape[1:] == (3000, 4000)


def _bad_sets(root):
    """``(name, edit)`` per bad-file case; ``edit(data, img_dir)`` breaks
    a copy of a small valid set and returns what the message must name."""
    def missing_image(data, img_dir):
        os.remove(osp.join(img_dir, data['images'][0]['file_name']))
        return f"images/{data['images'][0]['file_name']} does not exist"

    def corrupt_json(data, img_dir):
        return None

    def wrong_length(data, img_dir):
        data['annotations'][0]['keypoints'] = [0] * 48
        return f"annotation id {data['annotations'][0]['id']}: field " \
            "'keypoints'"

    def no_keypoints(data, img_dir):
        for cat in data['categories']:
            del cat['keypoints']
        return "field 'keypoints'"

    return [('missing_image', missing_image), ('corrupt_json', corrupt_json),
            ('wrong_length', wrong_length), ('no_keypoints', no_keypoints)]


def test_bad_files_fail_fast_naming_the_file(tmp_path):
    images = degenerate_images(large=None)[:2]
    cases = []
    for name, edit in _bad_sets(tmp_path):
        root = tmp_path / name
        paths = write_coco(str(root), images, name=name)
        with open(paths['ann_file']) as f:
            data = json.load(f)
        what = edit(data, paths['img_dir'])
        with open(paths['ann_file'], 'w') as f:
            if name == 'corrupt_json':
                f.write(json.dumps(data)[:-40])
            else:
                json.dump(data, f)
        cases.append((name, _coco_config(tmp_path, str(root), name),
                      paths['ann_file'], what))
    # through MMEngine's Runner as tools/train.py builds it (in-process:
    # a mim start-up per case would only add interpreter start time;
    # test_degenerate_set_trains_and_evaluates_with_mim covers mim)
    from mmengine.config import Config
    from mmengine.runner import Runner
    for name, cfg, ann_file, what in cases:
        cfg = Config.fromfile(cfg)
        cfg.work_dir = str(tmp_path / name / 'work')
        start = time.time()
        with pytest.raises((ValueError, FileNotFoundError)) as e:
            Runner.from_cfg(cfg).train()
        print(f'{name}: failed after {time.time() - start:.1f} s')
        assert ann_file in str(e.value), (name, str(e.value))
        if what:
            assert what in str(e.value), (name, str(e.value))


EMA_BODY = '''
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='EMAHook', ema_type='ExponentialMovingAverage',
         momentum=0.1, update_buffers=True, priority=49),
    dict(type='NonFiniteLossHook'),
]
'''


def _state(path):
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    return ckpt


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    cfg = _config(tmp_path / 'ema_cfg.py', R18, EMA_BODY)
    opts = ['--cfg-options', 'train_cfg.max_iters=4',
            'default_hooks.checkpoint.interval=2',
            'default_hooks.checkpoint.max_keep_ckpts=3', *QUICK,
            'train_dataloader.dataset.num_images=8']
    full, resumed = tmp_path / 'full', tmp_path / 'resumed'
    _run(['train', 'personlab_mm', cfg, '--work-dir', str(full),
          '--no-validate', *opts], tmp_path)
    log = _run(['train', 'personlab_mm', cfg, '--work-dir', str(resumed),
                '--no-validate', '--resume', str(full / 'iter_2.pth'),
                *opts], tmp_path)
    assert 'resumed' in log.lower() and 'Iter(train) [1/4]' not in log
    a, b = _state(full / 'iter_4.pth'), _state(resumed / 'iter_4.pth')
    assert a['meta']['iter'] == b['meta']['iter'] == 4
    for key in ('state_dict', 'ema_state_dict'):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), (key, name)
    # the EMA really is a different average than the weights
    ema = a['ema_state_dict']
    assert int(ema['steps']) == 4
    assert any(not torch.equal(v, ema['module.' + k])
               for k, v in a['state_dict'].items() if v.is_floating_point())
    opt_a, opt_b = a['optimizer']['state'], b['optimizer']['state']
    assert opt_a.keys() == opt_b.keys() and len(opt_a) > 0
    for idx in opt_a:
        for k, v in opt_a[idx].items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(
                opt_b[idx][k])), (idx, k)
    assert a['param_schedulers'] == b['param_schedulers']


DUMP_BODY = '''
ann_file = 'data/personlab_synthetic/annotations/person_keypoints_val.json'
val_evaluator = [
    dict(type='CocoMetric', ann_file=ann_file, score_mode='bbox',
         nms_mode='none'),
    dict(type='PersonSegmMetric', ann_file=ann_file),
    dict(type='DumpResults', out_file_path={out!r}),
]
'''


def test_two_process_gloo_training_and_evaluation(tmp_path):
    out = tmp_path / 'preds.pkl'
    # r18_synthetic.py, its evaluation also dumping the gathered results
    cfg = _config(tmp_path / 'dump_cfg.py', R18,
                  DUMP_BODY.format(out=str(out)))
    log = _run(['train', 'personlab_mm', cfg, '--launcher', 'pytorch',
                '--gpus', '2', '--work-dir', str(tmp_path / 'work'),
                '--cfg-options', 'train_cfg.max_iters=2',
                'train_cfg.val_interval=2', *QUICK, *SYNTHETIC], tmp_path)
    assert 'Distributed training: True' in log
    assert 'MMDistributedDataParallel' in log
    assert 'Iter(train) [2/2]' in log
    # each of the 2 ranks predicts 2 of the 4 val images...
    assert 'Iter(val) [2/2]' in log and 'Iter(val) [3/' not in log
    # ...and the metrics see all of them
    assert 'coco/AP:' in log and 'coco/segm_mAP:' in log
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert sorted(p['img_id'] for p in preds) == [1, 2, 3, 4]
