"""Speed of PanoNet's post-processing against its network (the ``panonet``
section of ``tools/benchmark.py``).

Post-processing is timed from the maps on the output grid (stride 4) to
the image-size results (resampling logits and embeddings to the image,
class-wise mean-shift, merge, instance masks and boxes), on maps with an
exact number of instances: Panoptic-DeepLab's benchmark scene
(:func:`~personlab_mm.analysis.panoptic_benchmark.scene_layout`), every
cell at its nearest instance's embedding point (on a sphere of radius 6,
as the discriminative loss keeps them) plus Gaussian noise.
"""
from typing import Dict, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config

from ..models.heads.panonet_head import PANONET_FIELDS, PanoNetHead
from ..structures import DenseMaps
from .panoptic_benchmark import bench_forward, median_ms, scene_layout
from .perfect_panonet import instance_points


def embedding_maps(head: PanoNetHead, image_hw: Tuple[int, int],
                   num_instances: int, noise: float, device: str,
                   seed: int = 0) -> DenseMaps:
    """Output-grid maps of an image with ``num_instances`` instances.

    Args:
        head (PanoNetHead): Gives the stride, classes and dimensions.
        image_hw (tuple): Input (= image) size.
        num_instances (int): Discs on a jittered grid.
        noise (float): Embedding noise (standard deviation per dimension).
        device (str): Device.
        seed (int): Seed of the jitter, points and noise.
    """
    g = torch.Generator().manual_seed(seed)
    scene = scene_layout(head.stride, head.decoder.num_things,
                         head.num_classes, image_hw, num_instances, g)
    H, W = scene.nearest.shape
    logits, nearest = scene.logits, scene.nearest
    points = instance_points(num_instances, head.embedding_dims, 6., g)
    embedding = points[nearest].permute(2, 0, 1) + noise * torch.randn(
        head.embedding_dims, H, W, generator=g)
    maps = DenseMaps(dict(semantic=logits[None], embedding=embedding[None]),
                     PANONET_FIELDS, head.stride)
    return maps.map(lambda _, t, __: t.to(device))


def bench_panonet(cfg: Config, sizes: Sequence[Tuple[int, int]],
                  instances: Sequence[int], devices: Sequence[str],
                  repeats: int, noise: float = 0.1) -> Dict:
    """ms per image of :meth:`PanoNetHead.decode` per image size and number
    of instances (with the instances found), next to the network forward
    at the first size, per device, with their ratio."""
    head = MODELS.build(dict(cfg.model.head, _scope_='mmdet'))
    report = {}
    for device in devices:
        head = head.to(device)
        post = {}
        for h, w in sizes:
            sample = DetDataSample(metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)))
            for n in instances:
                maps = embedding_maps(head, (h, w), n, noise, device)
                with torch.no_grad():
                    found = len(head.decode(maps, [sample])[0].labels)
                    ms = median_ms(lambda: head.decode(maps, [sample]),
                                   repeats, device)
                post[f'{h}x{w}/{n}'] = dict(ms=round(ms, 2), found=found)
        forward = bench_forward(cfg, sizes[0], device, max(1, repeats // 3))
        first = f'{sizes[0][0]}x{sizes[0][1]}/{max(instances)}'
        report[device] = dict(
            postprocessing=post,
            forward_ms=round(forward, 1),
            forward_size=list(sizes[0]),
            postprocessing_to_forward=round(post[first]['ms'] / forward, 4))
    return report
