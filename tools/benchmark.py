"""Speed of the methods' parts, each next to what it is compared with.

PersonLab's three sections run on synthetic scenes with an exact number of
people (``personlab_mm.datasets.synthetic.make_scene``); ``panoptic``
(not in the default sections) times Panoptic-DeepLab's post-processing
(:mod:`personlab_mm.analysis.panoptic_benchmark`: 1-200 instances at
1025x2049 and 641x641) next to the network forward of
``pdl_r50_cityscapes.py`` at 1025x2049 in the same run; ``panonet`` (not
in the default sections) times PanoNet's post-processing (resampling,
class-wise mean-shift of 12-D embeddings, merge;
:mod:`personlab_mm.analysis.panonet_benchmark`, same sizes and instance
counts, ``--panoptic-sizes 1024x2048``) next to the forward of
``panonet_icnet_cityscapes.py``:

- ``targets``: images/s on ONE CPU core (torch and OpenCV single-threaded)
  for the full training pipeline (load, random affine to 801x801, flip,
  targets at output stride 8, packing) and for the target step alone, with
  1, 10 and 30 people (the same seeded random crops in every run);
- ``decode``: milliseconds per image at a longest side of 1401 px, output
  stride 8, from the maps a perfect network would output (so the number of
  people is exact), split by stage, on the CPU and (if present) on CUDA;
  also crowded scenes (``make_crowd_scene``: pairs of people one behind
  the other, same-type keypoints 5-30 px apart);
- ``model``: ``r101_coco.py`` training step (batch 8, 801x801, output
  stride 16, with the config's optimizer wrapper and layout: bf16
  autocast and channels-last inputs on CUDA, float32 without a GPU, as
  ``tools/train.py`` runs it; gradient clipping included) and end-to-end
  inference (image in, people with masks out, batch 1, 1401 px, output
  stride 8, with the config's ``test_cfg`` precision and layout and its
  decoder settings), each next to the same measurement of the backbone
  alone. Random weights find nobody, so inference is also timed with the
  network's maps replaced, before decoding, by the maps of a 10-person
  scene (same grid): image in, network run, 10 people with masks out.

First calls (the warm-up, including any ``torch.compile`` compilation the
config asks for) are not in the medians; their seconds are reported as
``*_warmup_s``.

    python tools/benchmark.py                      # all sections, cuda if any
    python tools/benchmark.py --sections targets decode --device cpu
    python tools/benchmark.py --sections panoptic
    python tools/benchmark.py --sections panonet

Prints a table per section and, as the last line, one JSON object with
every number and the machine it ran on.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict

import torch

from personlab_mm.analysis.personlab_benchmark import (bench_decode,
                                                       bench_model,
                                                       bench_targets, load_cfg,
                                                       machine_info)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
R101 = osp.join(REPO, 'configs', 'personlab', 'r101_coco.py')
PDL_CITYSCAPES = osp.join(REPO, 'configs', 'panoptic_deeplab',
                          'pdl_r50_cityscapes.py')
PANONET_CITYSCAPES = osp.join(REPO, 'configs', 'panonet',
                              'panonet_icnet_cityscapes.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sections', nargs='+',
                        default=['targets', 'decode', 'model'],
                        choices=['targets', 'decode', 'model', 'panoptic',
                                 'panonet'])
    parser.add_argument('--device', default='auto',
                        choices=['auto', 'cpu', 'cuda'],
                        help='device of the model section and the extra '
                        'decode device (decoding is always timed on the CPU '
                        'too)')
    parser.add_argument('--people', nargs='+', type=int,
                        default=[1, 5, 10, 30, 60],
                        help='people per image for the decode section')
    parser.add_argument('--crowds', nargs='+', type=int, default=[10, 30],
                        help='people per crowded image (pairs standing one '
                        'behind the other) for the decode section')
    parser.add_argument('--target-people', nargs='+', type=int,
                        default=[1, 10, 30])
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--config', default=R101,
                        help='model of the model section (default: '
                        'r101_coco.py)')
    parser.add_argument('--instances', nargs='+', type=int,
                        default=[1, 10, 50, 200],
                        help='instances per image for the panoptic section')
    parser.add_argument('--panoptic-sizes', nargs='+', default=[
        '1025x2049', '641x641'], help='image sizes (HxW) of the panoptic '
        'section; the network forward is timed at the first')
    parser.add_argument('--panoptic-config', default=PDL_CITYSCAPES,
                        help='model of the panoptic section (default: '
                        'pdl_r50_cityscapes.py)')
    parser.add_argument('--panonet-config', default=PANONET_CITYSCAPES,
                        help='model of the panonet section (default: '
                        'panonet_icnet_cityscapes.py)')
    parser.add_argument('--embedding-noise', type=float, default=0.1,
                        help='embedding noise of the panonet section')
    parser.add_argument('--out', help='also write the JSON to this file')
    return parser.parse_args(argv)


def panoptic_section(args, device: str, method: str = 'panoptic') -> Dict:
    """Panoptic-DeepLab's (``panoptic``) or PanoNet's (``panonet``)
    post-processing vs its network, printed."""
    from mmengine.config import Config

    from personlab_mm.analysis.panonet_benchmark import bench_panonet
    from personlab_mm.analysis.panoptic_benchmark import bench_panoptic
    sizes = [tuple(int(v) for v in s.split('x')) for s in args.panoptic_sizes]
    devices = ['cpu'] + (['cuda'] if device == 'cuda' else [])
    if method == 'panonet':
        name, config = 'PanoNet', args.panonet_config
        report = bench_panonet(Config.fromfile(config), sizes,
                               args.instances, devices, args.repeats,
                               args.embedding_noise)
    else:
        name, config = 'Panoptic-DeepLab', args.panoptic_config
        report = bench_panoptic(Config.fromfile(config), sizes,
                                args.instances, devices, args.repeats)
    report['config'] = osp.basename(config)
    for dev in devices:
        r = report[dev]
        print(f'\n{name} post-processing on {dev} (ms per image; '
              f'{report["config"]} forward at {r["forward_size"]}: '
              f'{r["forward_ms"]} ms, ratio {r["postprocessing_to_forward"]})')
        print(f"{'size/instances':>18} {'found':>6} {'ms':>9}")
        for key, row in r['postprocessing'].items():
            print(f"{key:>18} {row['found']:>6} {row['ms']:>9}")
    return report


def main(argv=None):
    args = parse_args(argv)
    device = args.device
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device == 'cuda' and not torch.cuda.is_available():
        sys.exit('--device cuda: no CUDA device here')
    cfg = load_cfg(R101)
    report = dict(machine=machine_info(device))
    if 'targets' in args.sections:
        report['targets'] = bench_targets(cfg, args.target_people,
                                          args.repeats)
        print('\ntarget generation, one CPU core, 801x801, stride 8')
        print(f"{'people':>7} {'pipeline img/s':>15} {'targets img/s':>14}")
        for n, r in report['targets'].items():
            print(f"{n:>7} {r['full_pipeline_img_per_s']:>15} "
                  f"{r['target_step_img_per_s']:>14}")
    if 'decode' in args.sections:
        devices = ['cpu'] + (['cuda'] if device == 'cuda' else [])
        report['decode'] = bench_decode(load_cfg(R101), args.people, devices,
                                        args.repeats, args.crowds)
        for dev, rows in report['decode'].items():
            print(f'\ndecoding on {dev}, 1401 px, stride 8 (ms per image)')
            keys = [k for k in next(iter(rows.values())) if k.endswith('ms')]
            print(f"{'people':>11} {'found':>5} " +
                  ' '.join(f'{k:>12}' for k in keys))
            for n, r in rows.items():
                print(f"{n:>11} {r['people_found']:>5} " +
                      ' '.join(f'{r[k]:>12}' for k in keys))
    if 'model' in args.sections:
        report['model'] = bench_model(load_cfg(args.config), device,
                                      args.repeats)
        m = report['model']
        m['config'] = osp.basename(args.config)
        print(f'\n{m["config"]} on {device} ({m["amp"]})')
        print(f"training step, batch 8, {m['train_input_hw']} px, stride "
              f"{m['train_output_stride']}: "
              f"{m['train_img_per_s']} img/s (backbone alone "
              f"{m['backbone_train_img_per_s']} img/s, ratio "
              f"{m['train_ratio']})")
        print(f"inference ({m['infer_precision']}, decoder compile="
              f"{m['decoder_compile']}), {m['input_hw']} px, stride 8, "
              f"image in, people + masks out: {m['infer_ms']} ms, "
              f"{m['infer_people']} people; with the maps of 10 people: "
              f"{m['infer_10_people_ms']} ms, {m['infer_10_people_found']} "
              f"found (backbone alone {m['backbone_infer_ms']} ms; first "
              f"calls {m['infer_warmup_s']} s and "
              f"{m['infer_10_people_warmup_s']} s)")
    for method in ('panoptic', 'panonet'):
        if method in args.sections:
            report[method] = panoptic_section(args, device, method)
    line = json.dumps(report)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(line + '\n')
    print(line)


if __name__ == '__main__':
    main()
