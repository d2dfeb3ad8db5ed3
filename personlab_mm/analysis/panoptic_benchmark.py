"""Speed of Panoptic-DeepLab's post-processing against its network (the
``panoptic`` section of ``tools/benchmark.py``).

Post-processing is timed from the maps on the output grid (stride 4) to
the image-size results (resampling to the image, centre NMS, grouping,
majority vote, merge, instance masks and boxes), on maps with an exact
number of instances: centres on a jittered grid, Gaussian centre peaks,
offsets to the nearest centre, thing logits around each centre and stuff
elsewhere.
"""
import math
from typing import Callable, Dict, NamedTuple, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config

from ..models.heads.panoptic_deeplab_head import (PANOPTIC_DEEPLAB_FIELDS,
                                                  PanopticDeepLabHead)
from ..structures import DenseMaps
from ..utils.timing import timed


def median_ms(fn: Callable, repeats: int, device: str,
              warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in ms, device-synchronised."""
    sync = torch.cuda.synchronize if device.startswith('cuda') else (
        lambda: None)
    return timed(fn, repeats, warmup, sync)


class SceneLayout(NamedTuple):
    """Instances on a jittered grid of output cells (see
    :func:`scene_layout`)."""
    cx: torch.Tensor  # (N,) centre columns, cells
    cy: torch.Tensor  # (N,) centre rows, cells
    d2: torch.Tensor  # (H, W, N) squared cell distances to the centres
    nearest: torch.Tensor  # (H, W) nearest centre
    thing: torch.Tensor  # (H, W) bool, inside an instance's disc
    logits: torch.Tensor  # (C, H, W) thing class k % things / first stuff


def scene_layout(stride: int, num_things: int, num_classes: int,
                 image_hw: Tuple[int, int], num_instances: int,
                 generator: torch.Generator) -> SceneLayout:
    """``num_instances`` discs centred on a jittered grid of the output
    cells of an image, instance ``k`` of thing class ``k % num_things``,
    stuff (the first stuff class) elsewhere: the scene both post-processing
    benchmarks decode.

    Args:
        stride (int): Output stride.
        num_things (int): Thing classes.
        num_classes (int): All classes.
        image_hw (tuple): Input (= image) size.
        num_instances (int): Instances (discs).
        generator (torch.Generator): Draws the jitter.
    """
    H, W = (int(math.ceil(n / stride)) for n in image_hw)
    cols = max(1, int(round(math.sqrt(num_instances * W / H))))
    rows = int(math.ceil(num_instances / cols))
    index = torch.arange(num_instances)
    cy = ((index // cols).float() + 0.5) * H / rows
    cx = ((index % cols).float() + 0.5) * W / cols
    jitter = (torch.rand(2, num_instances, generator=generator) - 0.5) * 0.2
    cx = (cx + jitter[0] * W / cols).clamp(0, W - 1)
    cy = (cy + jitter[1] * H / rows).clamp(0, H - 1)
    ys = torch.arange(H, dtype=torch.float32)[:, None, None]
    xs = torch.arange(W, dtype=torch.float32)[None, :, None]
    d2 = (xs - cx).square() + (ys - cy).square()  # (H, W, N)
    nearest = d2.argmin(dim=2)
    reach = 0.35 * min(H / rows, W / cols)
    thing = d2.min(dim=2).values.sqrt() <= reach
    logits = torch.zeros(num_classes, H, W)
    ty, tx = thing.nonzero(as_tuple=True)
    logits[nearest[ty, tx] % max(num_things, 1), ty, tx] = 5.
    if num_things < num_classes:
        logits[num_things, ~thing] = 5.
    return SceneLayout(cx, cy, d2, nearest, thing, logits)


def instance_maps(head: PanopticDeepLabHead, image_hw: Tuple[int, int],
                  num_instances: int, device: str,
                  seed: int = 0) -> DenseMaps:
    """Output-grid maps of an image with ``num_instances`` instances.

    Args:
        head (PanopticDeepLabHead): Gives the stride and classes.
        image_hw (tuple): Input (= image) size.
        num_instances (int): Centres on a jittered grid, at least 3 cells
            apart.
        device (str): Device.
        seed (int): Jitter seed.
    """
    g = torch.Generator().manual_seed(seed)
    stride = head.stride
    scene = scene_layout(stride, head.decoder.num_things, head.num_classes,
                         image_hw, num_instances, g)
    cx, cy, d2, nearest = scene.cx, scene.cy, scene.d2, scene.nearest
    H, W = nearest.shape
    ys = torch.arange(H, dtype=torch.float32)[:, None]
    xs = torch.arange(W, dtype=torch.float32)[None, :]
    centre = torch.exp(-d2 / (2 * 2.**2)).amax(dim=2)
    offsets = torch.stack([cx[nearest] - xs, cy[nearest] - ys]) * stride
    logits = scene.logits
    return DenseMaps(
        dict(semantic=logits[None], centre=centre[None, None],
             offsets=offsets[None, None]), PANOPTIC_DEEPLAB_FIELDS,
        stride).map(lambda _, t, __: t.to(device))


def bench_postprocessing(head: PanopticDeepLabHead,
                         sizes: Sequence[Tuple[int, int]],
                         instances: Sequence[int], device: str,
                         repeats: int) -> Dict:
    """ms per image of :meth:`PanopticDeepLabHead.decode` per image size
    and number of instances, with the instances found."""
    report = {}
    for h, w in sizes:
        sample = DetDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)))
        for n in instances:
            maps = instance_maps(head, (h, w), n, device)
            with torch.no_grad():
                found = len(head.decode(maps, [sample])[0].labels)
                ms = median_ms(lambda: head.decode(maps, [sample]), repeats,
                               device)
            report[f'{h}x{w}/{n}'] = dict(ms=round(ms, 2), found=found)
    return report


def bench_forward(cfg: Config, size: Tuple[int, int], device: str,
                  repeats: int) -> float:
    """ms of the config's network forward (backbone(s) + head, no
    post-processing) on one image of ``size``."""
    # building loads no pretrained weights (init_weights would)
    model = MODELS.build(dict(cfg.model, _scope_='mmdet')).to(device).eval()
    x = torch.rand(1, 3, *size, device=device)
    with torch.no_grad():
        return median_ms(lambda: model._forward(x), repeats, device)


def bench_panoptic(cfg: Config, sizes: Sequence[Tuple[int, int]],
                   instances: Sequence[int], devices: Sequence[str],
                   repeats: int) -> Dict:
    """Post-processing per size and number of instances next to the
    network forward at the first size, per device, with their ratio."""
    head = MODELS.build(dict(cfg.model.head, _scope_='mmdet'))
    report = {}
    for device in devices:
        head = head.to(device)
        post = bench_postprocessing(head, sizes, instances, device, repeats)
        forward = bench_forward(cfg, sizes[0], device, max(1, repeats // 3))
        first = f'{sizes[0][0]}x{sizes[0][1]}/{max(instances)}'
        report[device] = dict(
            postprocessing=post,
            forward_ms=round(forward, 1),
            forward_size=list(sizes[0]),
            postprocessing_to_forward=round(post[first]['ms'] / forward, 4))
    return report
