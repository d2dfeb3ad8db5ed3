"""PanoNet's per-class bandwidth search (paper Sec. III-D): starting from
the variance margin ``delta_v``, try a small range of bandwidths for each
thing class on training images and keep the one whose clusters best match
the ground-truth instances.

The search isolates clustering, as the paper's AP_GT does: each class's
pixels are taken from the ground-truth semantic map, clustered with the
network's embeddings, and scored per class by panoptic quality (segments
matched at IoU > 0.5; void and crowd pixels ignored).
"""
from typing import Dict, Iterable, List, Sequence, Tuple

import torch
from torch import Tensor

from ..functional.clustering import class_wise_mean_shift
from ..models.utils.panoptic_targets import mask_owner, sample_ground_truth


def segment_matches(gt_ids: Tensor, pred_ids: Tensor,
                    ignore: Tensor) -> Dict[str, float]:
    """PQ's counts for one class of one image.

    Args:
        gt_ids (Tensor): (H, W) long ground-truth instance ids (0: none).
        pred_ids (Tensor): (H, W) long predicted ids (0: none).
        ignore (Tensor): (H, W) bool pixels not scored (void, crowds).

    Returns:
        dict: ``tp``, ``fp``, ``fn`` counts and ``iou`` (sum over matches).
    """
    keep = ~ignore
    g, p = gt_ids[keep], pred_ids[keep]
    G, P = int(g.max()) + 1 if g.numel() else 1, \
        int(p.max()) + 1 if p.numel() else 1
    joint = torch.bincount(g * P + p, minlength=G * P).view(G, P).double()
    gt_area, pred_area = joint.sum(1), joint.sum(0)
    union = gt_area[:, None] + pred_area[None] - joint
    iou = (joint / union.clamp(min=1))[1:, 1:]  # real segments only
    matched = iou > 0.5  # at most one match per row and column
    n_gt = int((gt_area[1:] > 0).sum())
    n_pred = int((pred_area[1:] > 0).sum())
    tp = int(matched.sum())
    return dict(tp=tp, fp=n_pred - tp, fn=n_gt - tp,
                iou=float(iou[matched].sum()))


def panoptic_quality(counts: Dict[str, float]) -> float:
    """PQ = sum IoU / (TP + FP / 2 + FN / 2) (0 when nothing counts)."""
    denominator = counts['tp'] + .5 * (counts['fp'] + counts['fn'])
    return counts['iou'] / denominator if denominator else 0.


def search_bandwidths(images: Iterable[Tuple[object, Tensor]],
                      num_things: int,
                      candidates: Sequence[float],
                      ignore_index: int = 255,
                      mean_shift_cfg: dict = None) -> Dict[str, list]:
    """PQ of every candidate bandwidth for every thing class.

    Args:
        images (Iterable[tuple]): ``(sample, embedding)`` per image: a
            ``DetDataSample`` with panoptic ground truth at its original
            size, and (D, h, w) embeddings at its original pixels.
        num_things (int): Thing classes (labels ``[0, num_things)``).
        candidates (Sequence[float]): Bandwidths to try.
        ignore_index (int): Void label.
        mean_shift_cfg (dict, optional): Further mean-shift settings.

    Returns:
        dict: ``candidates``, ``pq`` (num_things lists of one PQ per
        candidate; None for a class absent from the images) and ``best``
        (one bandwidth per class; the first candidate for absent classes).
    """
    totals = [[dict(tp=0, fp=0, fn=0, iou=0.) for _ in candidates]
              for _ in range(num_things)]
    seen = [False] * num_things
    for sample, embedding in images:
        hw = tuple(sample.metainfo['ori_shape'][:2])
        device = embedding.device
        semantic, things, crowds = sample_ground_truth(
            sample, hw, device, ignore_index)
        gt_ids = mask_owner(things)
        crowd = mask_owner(crowds) > 0
        num_classes = max(int(semantic[semantic != ignore_index].max())
                          + 1 if (semantic != ignore_index).any() else 0,
                          num_things)
        classes = semantic.masked_fill(semantic == ignore_index, num_classes)
        for j, bandwidth in enumerate(candidates):
            bandwidths = torch.zeros(num_classes + 1, device=device)
            bandwidths[:num_things] = bandwidth
            pred_ids, _ = class_wise_mean_shift(embedding, classes,
                                                bandwidths,
                                                **(mean_shift_cfg or {}))
            for c in range(num_things):
                on_class = classes == c
                if not bool(on_class.any()):
                    continue
                seen[c] = True
                counts = segment_matches(gt_ids * on_class,
                                         pred_ids * on_class, crowd)
                for key, value in counts.items():
                    totals[c][j][key] += value
    pq: List = [[panoptic_quality(t) for t in per_class] if seen[c] else None
                for c, per_class in enumerate(totals)]
    best = [
        candidates[max(range(len(candidates)), key=lambda j: (row[j], -j))]
        if row is not None else candidates[0] for row in pq
    ]
    return dict(candidates=list(candidates), pq=pq, best=best)
