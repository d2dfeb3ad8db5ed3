"""Speed of PanoNet's instance clustering (class-wise bin-seeded
mean-shift, :func:`~personlab_mm.functional.clustering.class_wise_mean_shift`)
on a synthetic panoptic-like scene of known instances.

Usage::

    python -m personlab_mm.analysis.clustering_benchmark
"""
import math
from typing import Dict, Tuple

import torch
from torch import Tensor

from ..functional.clustering import class_wise_mean_shift
from ..utils.timing import timed


def synthetic_scene(height: int, width: int, dim: int, num_instances: int,
                    num_classes: int, noise: float, min_distance: float = 2.,
                    seed: int = 0) -> Tuple[Tensor, Tensor, Tensor]:
    """A scene of ``num_instances`` rectangles on a stuff background.

    Instances are random rectangles, one per cell of a grid (they never
    overlap), each of a random thing class in ``[0, num_classes)``; the
    background is the stuff class ``num_classes``. An instance's pixels
    embed at its centre (random, pairwise at least ``min_distance``
    apart) plus Gaussian noise of std ``noise`` per dimension; background
    pixels embed as noise around 0.

    Returns:
        tuple: embedding (dim, H, W) float32, semantic (H, W) long and
        instance (H, W) long (0: background, ``k + 1``: instance ``k``).
    """
    g = torch.Generator().manual_seed(seed)
    centres = torch.zeros(0, dim)
    while centres.shape[0] < num_instances:  # rejection, setup only
        c = (torch.rand(1, dim, generator=g) * 2 - 1) * 1.5 * math.sqrt(
            max(num_instances, 4) / dim + 1)
        if centres.shape[0] == 0 or torch.cdist(c, centres).min() > \
                min_distance:
            centres = torch.cat([centres, c])
    cols = max(1, round(math.sqrt(num_instances * width / height)))
    rows = math.ceil(num_instances / cols)
    ch, cw = height // rows, width // cols
    instance = torch.zeros(height, width, dtype=torch.long)
    for k in range(num_instances):
        r, c = divmod(k, cols)
        h = int(ch * (0.4 + 0.5 * torch.rand(1, generator=g)))
        w = int(cw * (0.4 + 0.5 * torch.rand(1, generator=g)))
        top = r * ch + int(torch.randint(0, ch - h + 1, (1, ), generator=g))
        left = c * cw + int(torch.randint(0, cw - w + 1, (1, ), generator=g))
        instance[top:top + h, left:left + w] = k + 1
    classes = torch.randint(0, num_classes, (num_instances, ), generator=g)
    semantic = torch.cat([torch.tensor([num_classes]), classes])[instance]
    embedding = torch.randn(dim, height, width, generator=g) * noise
    embedding += torch.cat([torch.zeros(1, dim), centres])[instance].permute(
        2, 0, 1)
    return embedding, semantic, instance


def time_class_wise_mean_shift(height: int = 1024,
                               width: int = 2048,
                               dim: int = 12,
                               num_instances: int = 20,
                               num_classes: int = 8,
                               noise: float = 0.1,
                               bandwidth: float = 0.5,
                               repeats: int = 3,
                               device: str = 'cpu') -> Dict[str, object]:
    """Median wall time of :func:`class_wise_mean_shift` on a
    :func:`synthetic_scene` (every thing class clustered with
    ``bandwidth``, the stuff background not clustered).

    Returns:
        dict: ``ms`` (median over ``repeats`` after one warm-up call),
        ``found`` and ``expected`` instances, ``ok`` (``found ==
        expected``), ``pure`` (no found instance spans two true ones),
        ``pixels`` (clustered) and the settings.
    """
    embedding, semantic, instance = synthetic_scene(height, width, dim,
                                                    num_instances,
                                                    num_classes, noise)
    embedding, semantic = embedding.to(device), semantic.to(device)
    bandwidths = torch.full((num_classes + 1, ), bandwidth, device=device)
    bandwidths[num_classes] = 0.
    ids, _ = class_wise_mean_shift(embedding, semantic, bandwidths)
    sync = torch.cuda.synchronize if torch.device(device).type == 'cuda' \
        else (lambda: None)
    ms = timed(lambda: class_wise_mean_shift(embedding, semantic, bandwidths),
               repeats, warmup=1, sync=sync)
    found = int(ids.max())
    # pure: no found instance spans two true ones
    inside = ids.cpu() > 0
    pairs = torch.unique(instance[inside] * (found + 1) + ids.cpu()[inside])
    return dict(ms=ms, found=found, expected=num_instances,
                ok=found == num_instances, pure=pairs.numel() == found,
                pixels=int((instance > 0).sum()), height=height, width=width,
                dim=dim, num_classes=num_classes, noise=noise,
                bandwidth=bandwidth, device=str(device))


if __name__ == '__main__':
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    print(time_class_wise_mean_shift())
