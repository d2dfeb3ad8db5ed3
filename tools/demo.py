"""Run a PersonLab checkpoint on an image, a folder of images or a video and
write annotated pictures / video (instance masks, skeletons, boxes).

    python tools/demo.py configs/personlab/r101_coco.py CKPT demo.jpg
    python tools/demo.py configs/personlab/r101_coco.py CKPT images/ \\
        --out-dir outputs/demo --pred-out-dir outputs/demo/preds
    python tools/demo.py configs/personlab/r101_coco.py CKPT clip.mp4
    mim run personlab_mm demo configs/personlab/r101_coco.py CKPT images/

Pictures keep the input's file name under ``--out-dir``; a video becomes
``<out-dir>/<name>.mp4``. ``--pred-out-dir`` adds the people as JSON
(keypoints ``[x, y, score]``, ``bbox`` xywh, ``score``, COCO RLE
``segmentation``): one file per image, or one per video with every frame.
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmengine.config import DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='PersonLab on images, folders or videos')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('input', help='an image, a folder of images or a '
                        'video file')
    parser.add_argument(
        '--out-dir', default='outputs/demo',
        help='where annotated pictures / videos go (default: %(default)s)')
    parser.add_argument(
        '--pred-out-dir', help='also write the predicted people as JSON here')
    parser.add_argument(
        '--device', help='cpu, cuda, cuda:1, ... (default: the GPU where '
        'there is one)')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument(
        '--kpt-thr', type=float, default=0.3,
        help='minimum keypoint score drawn (default: %(default)s)')
    parser.add_argument(
        '--score-thr', type=float,
        help="minimum person score drawn (default: the config visualizer's "
        'instance_score_thr)')
    parser.add_argument(
        '--no-bbox', action='store_true', help='do not draw person boxes')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. model.test_cfg.flip_test=True')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[str]:
    args = parse_args(argv)
    from personlab_mm.apis import PersonLabInferencer
    from personlab_mm.apis.inferencer import resolve_inputs

    kind, paths = resolve_inputs(args.input)
    inferencer = PersonLabInferencer(
        args.config,
        args.checkpoint,
        device=args.device,
        cfg_options=args.cfg_options,
        kpt_thr=args.kpt_thr,
        instance_score_thr=args.score_thr,
        draw_bbox=not args.no_bbox)
    if kind == 'video':
        name = osp.splitext(osp.basename(paths[0]))[0]
        pred_file = osp.join(args.pred_out_dir, name + '.json') \
            if args.pred_out_dir else None
        written = [
            inferencer.run_video(paths[0], osp.join(args.out_dir,
                                                    name + '.mp4'),
                                 pred_out_file=pred_file)
        ]
    else:
        written = inferencer.run_images(
            paths, args.out_dir, args.batch_size,
            pred_out_dir=args.pred_out_dir)
    print(f'{len(written)} {"video" if kind == "video" else "picture(s)"} '
          f'written to {osp.abspath(args.out_dir)}')
    if args.pred_out_dir:
        print(f'predictions (JSON) in {osp.abspath(args.pred_out_dir)}')
    return written


if __name__ == '__main__':
    main()
