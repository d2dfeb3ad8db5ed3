"""Search PanoNet's mean-shift bandwidth per thing class on training images
(the paper's procedure, Sec. III-D): from ``delta_v`` upwards, each
class's ground-truth pixels are clustered with the trained network's
embeddings at every candidate bandwidth and scored by that class's PQ;
the best bandwidth of each class is printed as a config line to paste
(and written to ``--out``):

    python tools/analysis/panonet_bandwidth.py \
        configs/panonet/panonet_synthetic.py \
        work_dirs/panonet_synthetic/iter_1500.pth --max-images 64

Without a checkpoint, ``--perfect-noise SIGMA`` searches on perfect
embeddings (one point per instance plus Gaussian noise of that size), a
dry run of the procedure. The last line printed is JSON: ``{"bandwidth":
[...], "pq": [[...], ...], "candidates": [...]}``.
"""
import argparse
import copy
import json
import sys

import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

import personlab_mm  # noqa: F401
from personlab_mm.analysis.bandwidth_search import search_bandwidths
from personlab_mm.analysis.perfect_panonet import perfect_panonet_maps


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?',
                        help='trained PanoNet (omit with --perfect-noise)')
    parser.add_argument(
        '--perfect-noise', type=float, default=None,
        help='search on perfect embeddings with this noise instead of a '
        'checkpoint')
    parser.add_argument(
        '--candidates', type=float, nargs='+', default=None,
        help='bandwidths to try (default: delta_v x 1, 1.5, 2, 2.5, 3, 4)')
    parser.add_argument('--max-images', type=int, default=64)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', help='write the config line to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def training_images(cfg: Config):
    """The training split read by the test pipeline (no augmentation)."""
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    dataset_cfg.test_mode = True
    return DATASETS.build(dataset_cfg)


def main(argv=None):
    args = parse_args(argv)
    if (args.checkpoint is None) == (args.perfect_noise is None):
        sys.exit('give a checkpoint or --perfect-noise (not both)')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope('mmdet')
    if cfg.model.get('type') != 'PanoNet':
        sys.exit(f'{args.config} is not a PanoNet config')
    model = MODELS.build(cfg.model).to(args.device).eval()
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location=args.device)
    head = model.head
    delta_v = cfg.model.head.get('loss_embedding', {}).get('delta_v', 0.25)
    candidates = args.candidates or [
        round(delta_v * f, 4) for f in (1., 1.5, 2., 2.5, 3., 4.)
    ]
    dataset = training_images(cfg)
    n = min(args.max_images, len(dataset))

    def images():
        for i in range(n):
            data = dataset[i]
            sample = data['data_samples']
            with torch.no_grad():
                if args.perfect_noise is not None:
                    hw = tuple(int(v) for v in data['inputs'].shape[-2:])
                    maps = perfect_panonet_maps(head, sample, hw,
                                                args.perfect_noise,
                                                args.device, seed=i)
                else:
                    batch = model.data_preprocessor(
                        dict(inputs=[data['inputs']], data_samples=[sample]),
                        False)
                    maps = head.maps(*model.extract_feat(
                        batch['inputs'], batch['data_samples']))
                _, embedding = head.image_maps(maps.sanitized(),
                                               sample.metainfo, True)
            yield sample, embedding

    result = search_bandwidths(images(), head.decoder.num_things, candidates,
                               head.ignore_index,
                               head.decoder.mean_shift_cfg)
    names = dataset.metainfo.get('thing_classes', [])
    print(f'PQ per thing class on {n} training images, bandwidths '
          f'{candidates}:')
    for c, row in enumerate(result['pq']):
        name = names[c] if c < len(names) else str(c)
        cells = 'absent' if row is None else ' '.join(f'{v:.3f}'
                                                      for v in row)
        print(f'  {name:>16}: {cells} -> {result["best"][c]}')
    line = ('model = dict(head=dict(test_cfg=dict(bandwidth='
            f'{result["best"]})))')
    print(line)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(line + '\n')
    print(json.dumps(dict(bandwidth=result['best'], pq=result['pq'],
                          candidates=result['candidates'])))


if __name__ == '__main__':
    main()
