"""PersonLab's measurements for ``tools/benchmark.py`` (the ``targets``,
``decode`` and ``model`` sections; the command line, printing and the JSON
report stay in the tool)."""
import itertools
import json
import os
import os.path as osp
import platform
import statistics
import tempfile
import time
from typing import Dict, List

import cv2
import numpy as np
import torch

from ..utils.timing import timed

_AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}


def machine_info(device: str) -> dict:
    info = dict(
        python=platform.python_version(),
        torch=torch.__version__,
        cpu=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        device=device)
    if device == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(0)
    return info


def load_cfg(path: str):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import personlab_mm  # noqa: F401
    cfg = Config.fromfile(path)
    init_default_scope('mmpose')
    return cfg


def scene_dataset(num_people: int, image_size, pipeline, tmp: str):
    """A one-image mmpose CocoDataset (bottom-up) over a synthetic scene."""
    from mmpose.registry import DATASETS

    from personlab_mm.datasets.synthetic import (COCO_KEYPOINT_NAMES,
                                                 COCO_SKELETON_1BASED,
                                                 make_scene)
    img, anns = make_scene(num_people, image_size, seed=num_people)
    name = f'scene_{num_people}.jpg'
    cv2.imwrite(osp.join(tmp, name), img)
    ann_file = osp.join(tmp, f'scene_{num_people}.json')
    with open(ann_file, 'w') as f:
        json.dump(
            dict(
                images=[
                    dict(id=1, file_name=name, width=img.shape[1],
                         height=img.shape[0])
                ],
                annotations=anns,
                categories=[
                    dict(id=1, name='person',
                         keypoints=list(COCO_KEYPOINT_NAMES),
                         skeleton=COCO_SKELETON_1BASED)
                ]), f)
    return DATASETS.build(
        dict(type='CocoDataset', data_root='', ann_file=ann_file,
             data_mode='bottomup', data_prefix=dict(img=tmp + '/'),
             pipeline=pipeline, test_mode=False))


# ------------------------------------------------------------------ targets
def bench_targets(cfg, people: List[int], repeats: int) -> Dict:
    """Images/s on one core: full training pipeline and target step."""
    from mmengine.dataset import Compose
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    codec = dict(cfg.codec, output_stride=8)
    pipeline = []
    for step in cfg.train_pipeline:
        step = dict(step)
        if step['type'] == 'GeneratePersonLabTargets':
            step['encoder'] = codec
        pipeline.append(step)
    target_index = [s['type'] for s in pipeline].index(
        'GeneratePersonLabTargets')
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in people:
            ds = scene_dataset(n, (640, 480), pipeline, tmp)
            # the same random crops and flips in every run
            np.random.seed(n)
            full_ms = timed(lambda: ds[0], repeats)
            # the target step alone, on as many different crops
            np.random.seed(n)
            before = Compose(pipeline[:target_index])
            crops = itertools.cycle(
                [before(ds.get_data_info(0)) for _ in range(repeats)])
            target = Compose(pipeline[target_index:target_index + 1])
            step_ms = timed(lambda: target(dict(next(crops))), repeats)
            results[n] = dict(
                full_pipeline_img_per_s=round(1e3 / full_ms, 1),
                target_step_img_per_s=round(1e3 / step_ms, 1),
                full_pipeline_ms=round(full_ms, 2),
                target_step_ms=round(step_ms, 2))
    torch.set_num_threads(os.cpu_count() or 1)
    return results


# ------------------------------------------------------------------- decode
def bench_decode(cfg, people: List[int], devices: List[str], repeats: int,
                 crowds: List[int] = ()) -> Dict:
    """Per-stage decoding time at 1401 px, stride 8, perfect maps; rows
    ``'N'`` for ``make_scene(N)``, ``'N crowded'`` for
    ``make_crowd_scene(N // 2)`` (pairs one behind the other)."""
    from mmpose.registry import MODELS
    from mmpose.structures import PoseDataSample

    from personlab_mm.analysis import perfect_maps
    from personlab_mm.datasets.synthetic import make_crowd_scene, make_scene
    from personlab_mm.datasets.transforms import PersonLabResize
    from personlab_mm.functional import input_affine_from_meta
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).eval()
    codec = model.head.decoder
    results = {}
    for device in devices:
        model.to(device)
        sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
        per_device = {}
        scenes = [(str(n), make_scene(n, (1280, 960), seed=n))
                  for n in people] + [
                      (f'{n} crowded',
                       make_crowd_scene(n // 2, (1280, 960), seed=n))
                      for n in crowds]
        for n, (img, anns) in scenes:
            res = PersonLabResize(1401, 8)(
                dict(img=img, img_shape=img.shape[:2]))
            meta = dict(
                ori_shape=img.shape[:2], input_size=res['input_size'],
                input_center=res['input_center'],
                input_scale=res['input_scale'], raw_ann_info=anns,
                img_path=f'scene_{n}')
            in_h, in_w = res['img'].shape[:2]
            maps = perfect_maps(codec, meta, input_affine_from_meta(meta),
                                (in_h, in_w), 8, device,
                                dict(impute_keypoints=True))
            stages: Dict[str, List[float]] = {}
            # what a test pipeline and the data preprocessor give the model
            test_meta = {k: meta[k] for k in ('ori_shape', 'input_size',
                                              'input_center', 'input_scale')}
            test_meta['batch_input_shape'] = (in_h, in_w)

            def run():
                sample = PoseDataSample(metainfo=test_meta)
                t: Dict[str, float] = {}
                preds = model.head.decode(maps, [sample], model.test_cfg, t)
                model.add_pred_to_datasample(preds, None, [sample])
                return sample, t

            start = time.perf_counter()
            run()
            sync()
            warmup_s = time.perf_counter() - start
            run()
            totals = []
            for _ in range(repeats):
                sync()
                start = time.perf_counter()
                sample, t = run()
                sync()
                totals.append((time.perf_counter() - start) * 1e3)
                for k, v in t.items():
                    stages.setdefault(k, []).append(v)
            per_device[n] = dict(
                total_ms=round(statistics.median(totals), 2),
                people_found=int(len(sample.pred_instances.keypoints)),
                warmup_s=round(warmup_s, 2),
                **{
                    f'{k}_ms': round(statistics.median(v), 2)
                    for k, v in stages.items()
                })
        results[device] = per_device
    return results


# -------------------------------------------------------------------- model
def _train_batch(cfg, batch: int, device: str):
    """A batch of training samples (10 people each) through the config's
    training pipeline (r101_coco.py: 801x801, stride 16)."""
    from mmengine.dataset import pseudo_collate
    with tempfile.TemporaryDirectory() as tmp:
        ds = scene_dataset(10, (640, 480), cfg.train_pipeline, tmp)
        samples = [ds[0] for _ in range(batch)]
    return pseudo_collate(samples)


def _training_precision(optim_wrapper: dict, channels_last: bool) -> str:
    """How the training step ran, e.g. ``'bfloat16 autocast +
    channels_last'``."""
    if optim_wrapper.get('type') == 'AmpOptimWrapper':
        text = f"{optim_wrapper.get('dtype') or 'float16'} autocast"
    else:
        text = 'fp32'
    return text + (' + channels_last' if channels_last else '')


def bench_model(cfg, device: str, repeats: int) -> Dict:
    """Training step and end-to-end inference, model vs backbone alone."""
    from mmengine.optim import build_optim_wrapper
    from mmpose.registry import MODELS
    from mmpose.structures import PoseDataSample

    from personlab_mm.analysis import perfect_maps
    from personlab_mm.datasets.synthetic import make_scene
    from personlab_mm.datasets.transforms import PersonLabResize
    from personlab_mm.functional import input_affine_from_meta
    from personlab_mm.utils.cli import fit_optim_wrapper_to_device
    cuda = device == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    # training as the config says (r101_coco.py: AmpOptimWrapper in bf16,
    # channels-last inputs; float32 without a GPU, as tools/train.py does)
    fit_optim_wrapper_to_device(cfg)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    train_cl = cuda and bool(model.train_cfg.get('channels_last'))
    batch_size = 8
    data = model.data_preprocessor(_train_batch(cfg, batch_size, device),
                                   True)
    inputs = data['inputs']
    samples = data['data_samples']
    model.train()

    def train_step():
        with optim_wrapper.optim_context(model):
            losses = model.loss(inputs, samples)
        optim_wrapper.update_params(
            sum(v for k, v in losses.items() if 'loss' in k))

    backbone_inputs = inputs.contiguous(
        memory_format=torch.channels_last) if train_cl else inputs

    def backbone_step():
        with optim_wrapper.optim_context(model):
            feats = model.backbone(backbone_inputs)
        optim_wrapper.update_params(sum(f.float().mean() for f in feats))

    reps = repeats if cuda else 2
    train_ms = timed(train_step, reps, 1, sync)
    backbone_train_ms = timed(backbone_step, reps, 1, sync)

    # inference: image in, people with masks out, as the config says
    # (test_cfg.channels_last converts the weights the first time)
    model.eval()
    img, anns = make_scene(10, (640, 480), seed=3)
    resize = PersonLabResize(1401, 8)
    res = resize(dict(img=img, img_shape=img.shape[:2]))
    meta = dict(ori_shape=img.shape[:2], input_size=res['input_size'],
                input_center=res['input_center'],
                input_scale=res['input_scale'])
    # a batch of one, like the network's output
    people_maps = perfect_maps(
        model.head.decoder, dict(meta, raw_ann_info=anns, img_path='scene'),
        input_affine_from_meta(meta), res['img'].shape[:2], 8, device,
        dict(impute_keypoints=True))

    def infer(maps=None):
        res = resize(dict(img=img, img_shape=img.shape[:2]))
        x = torch.from_numpy(res['img']).to(device).permute(2, 0, 1)
        batch_data = model.data_preprocessor(
            dict(inputs=[x], data_samples=[PoseDataSample(metainfo=meta)]))
        inputs, samples = batch_data['inputs'], batch_data['data_samples']
        with torch.no_grad():
            if maps is None:
                out = model.predict(inputs, samples)
            else:  # the network runs; its maps are replaced
                with model.test_stride() as stride:
                    net = model.head.fused_maps(
                        model.pyramid(inputs, stride), samples,
                        model.test_cfg)
                assert net.grid_hw == maps.grid_hw
                preds = model.head.decode(maps, samples, model.test_cfg)
                out = model.add_pred_to_datasample(preds, None, samples)
        return out[0].pred_instances

    x_in = model.data_preprocessor(
        dict(inputs=[torch.from_numpy(res['img']).permute(2, 0, 1)],
             data_samples=[PoseDataSample()]))['inputs'].to(device)
    test_cfg = model.test_cfg
    infer_amp = test_cfg.get('amp') if cuda else None
    infer_cl = bool(test_cfg.get('channels_last')) and cuda

    def backbone_infer():
        with torch.no_grad(), torch.autocast(
                device, dtype=_AMP_DTYPES.get(infer_amp),
                enabled=infer_amp is not None):
            model.backbone(x_in)

    warmup = time.perf_counter()
    infer()
    sync()
    infer_warmup_s = time.perf_counter() - warmup
    infer_ms = timed(infer, reps, 1, sync)
    people = len(infer().keypoints)
    warmup = time.perf_counter()
    infer(people_maps)
    sync()
    people_warmup_s = time.perf_counter() - warmup
    infer_people_ms = timed(lambda: infer(people_maps), reps, 1, sync)
    found = len(infer(people_maps).keypoints)
    if infer_cl:
        x_in = x_in.contiguous(memory_format=torch.channels_last)
    # the backbone at the test stride, switched once outside the timing
    with model.test_stride():
        backbone_infer_ms = timed(backbone_infer, reps, 2, sync)
    return dict(
        train_img_per_s=round(batch_size * 1e3 / train_ms, 2),
        backbone_train_img_per_s=round(batch_size * 1e3 / backbone_train_ms,
                                       2),
        train_ratio=round(backbone_train_ms / train_ms, 3),
        infer_ms=round(infer_ms, 2),
        backbone_infer_ms=round(backbone_infer_ms, 2),
        infer_people=people,
        infer_10_people_ms=round(infer_people_ms, 2),
        infer_10_people_found=found,
        infer_warmup_s=round(infer_warmup_s, 2),
        infer_10_people_warmup_s=round(people_warmup_s, 2),
        input_hw=list(x_in.shape[-2:]),
        train_input_hw=list(inputs.shape[-2:]),
        train_output_stride=int(model.head.output_stride),
        amp=_training_precision(cfg.optim_wrapper, train_cl),
        infer_precision=(f'{infer_amp or "fp32"}'
                         f'{" + channels_last" if infer_cl else ""}'),
        decoder_compile=model.test_cfg.get('compile', False))
