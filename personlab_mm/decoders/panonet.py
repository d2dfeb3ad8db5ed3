"""PanoNet post-processing (paper Sec. III-D): class-wise mean-shift of
the position-sensitive embeddings on each thing class's pixels, merged
with the semantic segmentation, composed from
:mod:`personlab_mm.functional`."""
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from ..functional.clustering import class_wise_mean_shift
from ..functional.panoptic import channel_argmax, instance_scores
from .panoptic_result import PanopticResult, assemble_result


class PanoNetDecoder:
    """Panoptic, semantic and instance segmentation from semantic logits
    and instance embeddings at image resolution.

    Steps: semantic = argmax of the logits; the pixels of every thing
    class are clustered by flat-kernel mean-shift with bin seeding, each
    class with its own bandwidth (the paper searches it per class on the
    training set: ``tools/analysis/panonet_bandwidth.py``), all classes in
    one batched call (:func:`~personlab_mm.functional.clustering.
    class_wise_mean_shift`); every pixel joins the mode its bin climbed
    to. Choices the paper leaves open: clusters under
    ``min_instance_area`` pixels, and all but the ``max_instances``
    largest, are not instances: their pixels join the kept cluster of
    their class with the nearest mean embedding (bilinear upsampling
    blends the embeddings of touching instances into a few in-between
    pixels that would otherwise form clusters of their own); an
    instance's score is the mean probability of its class over its pixels
    (PanoNet has no detection score); stuff classes covering fewer than
    ``stuff_area`` pixels become void (as Panoptic-DeepLab).

    Args:
        num_things (int): Thing classes (labels ``[0, num_things)``).
        num_classes (int): All classes, things first (MMDetection's order).
        bandwidth (float | Sequence[float]): Mean-shift bandwidth, one for
            all thing classes or one per thing class. Defaults to 0.5
            (twice the variance margin ``delta_v = 0.25``).
        min_instance_area (int): Smallest instance kept (pixels). Defaults
            to 10.
        max_instances (int): Most instances kept per image (the largest).
            Defaults to 255.
        stuff_area (int): Smallest stuff segment (pixels). Defaults to 2048
            (Cityscapes scale).
        instance_offset (int): MMDetection's ``INSTANCE_OFFSET``.
        mean_shift_cfg (dict, optional): Further
            :func:`~personlab_mm.functional.clustering.mean_shift`
            settings (``max_iter``, ``max_seeds``, ``max_density_points``,
            ``min_bin_freq``).
    """

    def __init__(self,
                 num_things: int,
                 num_classes: int,
                 bandwidth: Union[float, Sequence[float]] = 0.5,
                 min_instance_area: int = 10,
                 max_instances: int = 255,
                 stuff_area: int = 2048,
                 instance_offset: int = 1000,
                 mean_shift_cfg: Optional[dict] = None) -> None:
        if not 0 <= num_things <= num_classes:
            raise ValueError(f'num_things={num_things} must be in [0, '
                             f'num_classes={num_classes}]')
        if max_instances >= instance_offset:
            raise ValueError(f'max_instances={max_instances} instances do '
                             f'not fit below instance_offset='
                             f'{instance_offset}')
        bandwidths = torch.as_tensor(bandwidth, dtype=torch.float32)
        if bandwidths.dim() == 0:
            bandwidths = bandwidths.repeat(num_things)
        if bandwidths.shape != (num_things, ) or not bool(
                (bandwidths > 0).all() & bandwidths.isfinite().all()):
            raise ValueError(f'bandwidth must be one positive number or '
                             f'{num_things} (one per thing class), got '
                             f'{bandwidth}')
        self.num_things = num_things
        self.num_classes = num_classes
        # per class: the things' bandwidths, 0 (not clustered) for stuff
        self.bandwidths = torch.cat(
            [bandwidths, bandwidths.new_zeros(num_classes - num_things)])
        self.min_instance_area = min_instance_area
        self.max_instances = max_instances
        self.stuff_area = stuff_area
        self.instance_offset = instance_offset
        self.mean_shift_cfg = dict(mean_shift_cfg or {})

    def __call__(self, logits: Tensor, embedding: Tensor) -> PanopticResult:
        """
        Args:
            logits (Tensor): (C, h, w) semantic logits (finite).
            embedding (Tensor): (D, h, w) instance embeddings (finite).

        Returns:
            PanopticResult: see :class:`~personlab_mm.decoders.
            panoptic_result.PanopticResult`.
        """
        C = logits.shape[0]
        if C != self.num_classes:
            raise ValueError(f'{C} semantic channels for a decoder of '
                             f'{self.num_classes} classes')
        if embedding.shape[1:] != logits.shape[1:]:
            raise ValueError(f'embedding {tuple(embedding.shape)} and logits '
                             f'{tuple(logits.shape)} cover different pixels')
        probs = logits.float().softmax(dim=0)
        semantic = channel_argmax(logits)
        ids, labels = class_wise_mean_shift(
            embedding.float(), semantic, self.bandwidths.to(logits.device),
            **self.mean_shift_cfg)
        ids, labels, areas = self.keep_instances(ids, labels, embedding)
        scores = instance_scores(torch.ones_like(areas, dtype=probs.dtype),
                                 probs, ids, labels, areas)
        return assemble_result(semantic, ids, labels, scores, areas,
                               self.num_things, C, self.stuff_area,
                               self.instance_offset)

    def keep_instances(self, ids: Tensor, labels: Tensor,
                       embedding: Tensor) -> tuple:
        """Keep clusters of at least ``min_instance_area`` pixels, at most
        the ``max_instances`` largest, renumbered from 1 (largest first);
        the pixels of the other clusters join the kept cluster of their
        class whose mean embedding is nearest (none: they become void).

        Args:
            ids (Tensor): (h, w) long cluster ids (0: none).
            labels (Tensor): (K,) long class of each cluster.
            embedding (Tensor): (D, h, w) embeddings.

        Returns:
            tuple: ids (h, w), labels (K',), areas (K',) long.
        """
        K = labels.shape[0]
        device = ids.device
        flat = ids.reshape(-1)
        areas = torch.bincount(flat, minlength=K + 1)[1:]
        order = areas.argsort(descending=True, stable=True)
        keep = order[:self.max_instances]
        keep = keep[areas[keep] >= max(self.min_instance_area, 1)]
        new_number = torch.zeros(K + 1, dtype=torch.long, device=device)
        new_number[keep + 1] = torch.arange(1, keep.numel() + 1,
                                            device=device)
        new_ids = new_number[flat]
        orphans = ((flat > 0) & (new_ids == 0)).nonzero().squeeze(1)
        if orphans.numel() and keep.numel():
            D = embedding.shape[0]
            points = embedding.reshape(D, -1).T.float()
            inside = (new_ids > 0).nonzero().squeeze(1)
            sums = points.new_zeros(keep.numel(), D).index_add_(
                0, new_ids[inside] - 1, points[inside])
            means = sums / areas[keep][:, None].float()
            dist = torch.cdist(points[orphans], means)  # (P, K')
            other = labels[flat[orphans] - 1][:, None] != labels[keep][None]
            dist = dist.masked_fill(other, float('inf'))
            best = dist.argmin(dim=1)
            found = torch.isfinite(dist.gather(1, best[:, None]))[:, 0]
            new_ids[orphans[found]] = best[found] + 1
        areas = torch.bincount(new_ids, minlength=keep.numel() + 1)[1:]
        return new_ids.view_as(ids), labels[keep], areas
