"""PersonLab's keypoint side (Sec. 3.1, appendix A.2): Hough voting
(Eq. 1), seeds, Expected-OKS or Hough keypoint scores (Eq. 3), keypoint
soft-NMS (Eq. 4)."""
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..functional import (find_peaks, gather_bilinear, vote_at_offsets,
                          window_centroid)


def hough_maps(heatmaps: Tensor,
               short_offsets: Tensor,
               stride: float,
               radius: float,
               hough_stride: float,
               hough_size: Tuple[int, int],
               vote_threshold: float = 1e-3,
               fixed: bool = False) -> Tensor:
    r"""Hough score maps (Eq. 1).

    :math:`h_k(x) = \frac{1}{\pi R^2} \sum_i p_k(x_i) B(x_i + S_k(x_i) -
    x)`, ``B`` the bilinear kernel. Every output cell stands for
    ``stride**2`` pixels, so its vote weighs ``p * stride**2 / (pi R^2)``: a
    perfectly predicted disk casts a total mass of about 1 onto its
    keypoint. Cells with ``p <= vote_threshold`` do not vote (negligible
    mass; it keeps voting sparse).

    Args:
        heatmaps (Tensor): (K, H, W) keypoint probabilities.
        short_offsets (Tensor): (K, 2, H, W) in input pixels.
        stride (float): Stride of the maps.
        radius (float): Disk radius R in input pixels.
        hough_stride (float): Hough cell size in input pixels.
        hough_size (Tuple[int, int]): Hough grid ``(Wh, Hh)``.
        vote_threshold (float): Minimum probability of a voting cell.
        fixed (bool): Fixed shapes.

    Returns:
        Tensor: (K, Hh, Wh) Hough maps (vote mass per Hough cell).
    """
    return vote_at_offsets(heatmaps, short_offsets, heatmaps > vote_threshold,
                           stride, hough_stride, hough_size,
                           scale=stride * stride / (math.pi * radius * radius),
                           fixed=fixed)


def keypoint_seeds(hough: Tensor,
                   threshold: float,
                   hough_stride: float,
                   max_seeds: int,
                   fixed: bool = False) -> Tuple[Tensor, Tensor, Tensor]:
    """Seeds of greedy decoding: local maxima of the Hough maps whose 3x3
    vote mass reaches ``threshold``, strongest first, each at the centre of
    mass of its 3x3 neighbourhood (the exact point where bilinear votes
    were cast).

    Returns:
        tuple: keypoint types (N,), positions (N, 2) in input pixels and
        validity (N,) bool (all true unless ``fixed``).
    """
    peaks = find_peaks(hough, threshold, max_seeds, kernel=3, score='mass',
                       fixed=fixed)
    xy = window_centroid(peaks.windows, peaks.iy, peaks.ix) * hough_stride
    return peaks.channel, xy, peaks.valid


def sample_keypoint_maps(maps: Tensor, keypoints: Tensor,
                         stride: float) -> Tensor:
    """Value of map ``k`` at keypoint ``k`` of every person.

    Args:
        maps (Tensor): (K, H, W) per-keypoint maps (e.g. probabilities).
        keypoints (Tensor): (J, K, 2) in input pixels.
        stride (float): Stride of ``maps``.

    Returns:
        Tensor: (J, K).
    """
    J, K, _ = keypoints.shape
    channel = torch.arange(K, device=keypoints.device).repeat(J)
    vals = gather_bilinear(maps[:, None], channel, keypoints.reshape(-1, 2),
                           stride)
    return vals.view(J, K)


def instance_scales(keypoints: Tensor,
                    keypoint_probs: Optional[Tensor] = None,
                    threshold: float = 0.5,
                    min_scale: float = 1.) -> Tensor:
    """lambda_j: square root of the area of the box around the detected
    keypoints.

    With ``keypoint_probs``, only keypoints detected with at least
    ``threshold`` probability span the box (people with fewer than two use
    all their keypoints): a joint the decoder placed where nothing was
    detected would otherwise inflate the scale, and with it the Expected-OKS
    tolerance and the mask distance threshold (Eq. 6).

    Args:
        keypoints (Tensor): (J, K, 2).
        keypoint_probs (Tensor, optional): (J, K) presence probabilities.
        threshold (float): Presence threshold. Defaults to 0.5.
        min_scale (float): Lower bound, keeps degenerate boxes usable.

    Returns:
        Tensor: (J,).
    """
    if keypoints.shape[0] == 0:
        return keypoints.new_zeros(0)
    kp = torch.nan_to_num(keypoints, nan=0., posinf=0., neginf=0.)
    use = torch.ones(kp.shape[:2], dtype=torch.bool, device=kp.device)
    if keypoint_probs is not None:
        detected = keypoint_probs >= threshold
        use = torch.where(detected.sum(1, keepdim=True) >= 2, detected, use)
    inf = torch.finfo(kp.dtype).max
    lo = torch.where(use[..., None], kp, inf).amin(dim=1)
    hi = torch.where(use[..., None], kp, -inf).amax(dim=1)
    size = hi - lo
    return (size[:, 0] * size[:, 1]).clamp(min=0).sqrt().clamp(min=min_scale)


def expected_oks_scores(hough: Tensor, hough_stride: float,
                        keypoints: Tensor, keypoint_probs: Tensor,
                        scales: Tensor, kappas: Tensor,
                        radius: float) -> Tensor:
    r"""Expected-OKS keypoint scores (Eq. 3).

    :math:`s_{j,k} = p_k(y_{j,k}) \sum_{x \in D_R(y_{j,k})} \hat h_k(x)
    \exp(-\|x - y_{j,k}\|^2 / (2 \lambda_j^2 \kappa_k^2))`, with
    :math:`\hat h_k` the Hough map normalised to sum to one inside the disk.

    Args:
        hough (Tensor): (K, Hh, Wh) Hough maps.
        hough_stride (float): Hough cell size in input pixels.
        keypoints (Tensor): (J, K, 2).
        keypoint_probs (Tensor): (J, K) presence probabilities p_k(y).
        scales (Tensor): (J,) lambda_j.
        kappas (Tensor): (K,) OKS constants (COCO: 2 * sigma).
        radius (float): R in input pixels.

    Returns:
        Tensor: (J, K) scores in [0, 1].
    """
    J, K, _ = keypoints.shape
    if J == 0:
        return keypoints.new_zeros((0, K))
    _, Hh, Wh = hough.shape
    half = int(math.ceil(radius / hough_stride))
    d = torch.arange(-half, half + 1, device=hough.device)
    centre = torch.nan_to_num(keypoints / hough_stride, nan=-1e4).clamp(
        -1e4, 1e4).round().long()  # (J, K, 2)
    cx = centre[..., 0, None, None] + d[None, None, None, :]  # (J,K,1,w)
    cy = centre[..., 1, None, None] + d[None, None, :, None]  # (J,K,w,1)
    inside = (cx >= 0) & (cx < Wh) & (cy >= 0) & (cy < Hh)
    kk = torch.arange(K, device=hough.device)[None, :, None, None]
    vals = hough[kk, cy.clamp(0, Hh - 1), cx.clamp(0, Wh - 1)]  # (J,K,w,w)
    dx = cx.to(hough.dtype) * hough_stride - keypoints[..., 0, None, None]
    dy = cy.to(hough.dtype) * hough_stride - keypoints[..., 1, None, None]
    dist2 = dx * dx + dy * dy
    vals = vals * (inside & (dist2 <= radius * radius))
    total = vals.sum(dim=(2, 3))
    var = 2. * (scales[:, None] * kappas[None, :])**2  # (J, K)
    gauss = torch.exp(-dist2 / var[..., None, None])
    expected = (vals * gauss).sum(dim=(2, 3)) / total.clamp(min=1e-12)
    expected = torch.where(total > 0, expected, torch.zeros_like(expected))
    return (keypoint_probs.clamp(0, 1) * expected).nan_to_num(0.)


def local_mass(hough: Tensor) -> Tensor:
    """Sum of each Hough cell's 3x3 neighbourhood: the vote mass around it,
    independent of where inside a cell the votes landed."""
    return F.avg_pool2d(
        hough[None], 3, stride=1, padding=1, count_include_pad=True)[0] * 9.


def hough_keypoint_scores(hough: Tensor, hough_stride: float,
                          keypoints: Tensor) -> Tensor:
    """The alternative keypoint score of [33]: the Hough score at the
    keypoint (here the local vote mass, clipped to [0, 1]).

    Returns:
        Tensor: (J, K).
    """
    return sample_keypoint_maps(local_mass(hough), keypoints,
                                hough_stride).clamp(0, 1).nan_to_num(0.)


def keypoint_soft_nms(keypoints: Tensor,
                      keypoint_scores: Tensor,
                      nms_radius: float,
                      valid: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """Keypoint soft-NMS (Eq. 4).

    People are ranked by their mean keypoint score; each keeps the scores
    of the keypoints no higher-ranked person claimed (within ``nms_radius``
    of the same keypoint type), summed and divided by K. Sorting is stable:
    ties keep the input order.

    Args:
        keypoints (Tensor): (J, K, 2).
        keypoint_scores (Tensor): (J, K).
        nms_radius (float): r in input pixels.
        valid (Tensor, optional): (J,) bool; invalid entries (padding) rank
            last, claim nothing and score ``-inf``, so the valid ones get
            exactly the scores and order they would get alone.

    Returns:
        tuple: instance scores (J,) and the order (J,) sorting them in
        descending order.
    """
    J, K = keypoint_scores.shape
    if J == 0:
        empty = keypoint_scores.new_zeros(0)
        return empty, empty.long()
    mean = keypoint_scores.mean(dim=1)
    if valid is not None:
        mean = torch.where(valid, mean, torch.full_like(mean, -math.inf))
    rank = torch.sort(mean, descending=True, stable=True)[1]
    kp, ks = keypoints[rank], keypoint_scores[rank]
    dist = (kp[:, None] - kp[None, :]).norm(dim=-1)  # (J, J, K)
    earlier = torch.ones(J, J, dtype=torch.bool,
                         device=kp.device).tril(diagonal=-1)
    claimed = ((dist <= nms_radius) & earlier[..., None]).any(dim=1)
    ranked_scores = (ks * ~claimed).sum(dim=1) / K
    scores = torch.empty_like(ranked_scores)
    scores[rank] = ranked_scores
    if valid is not None:
        scores = torch.where(valid, scores,
                             torch.full_like(scores, -math.inf))
    return scores, torch.sort(scores, descending=True, stable=True)[1]


def keypoint_terms(heatmaps: Tensor,
                   hough: Tensor,
                   hough_stride: float,
                   people: Tensor,
                   stride: float,
                   kappas: Tensor,
                   radius: float,
                   support_threshold: float,
                   keypoint_score: str = 'expected_oks'
                   ) -> Tuple[Tensor, Tensor, Tensor]:
    """Per-keypoint terms of grouped candidates, before instance NMS.

    Args:
        heatmaps (Tensor): (K, H, W) keypoint probabilities (finite).
        hough (Tensor): (K, Hh, Wh) Hough maps.
        hough_stride (float): Hough cell size in input pixels.
        people (Tensor): (J, K, 2) candidates in input pixels.
        stride (float): Stride of ``heatmaps``.
        kappas (Tensor): (K,) OKS constants.
        radius (float): R in input pixels.
        support_threshold (float): Presence threshold of the scales.
        keypoint_score (str): ``'expected_oks'`` (Eq. 3) or ``'hough'``.

    Returns:
        Tuple[Tensor, Tensor, Tensor]: keypoint probabilities (J, K),
        instance scales (J,) and keypoint scores (J, K).
    """
    probs = sample_keypoint_maps(heatmaps, people, stride).clamp(0, 1)
    scales = instance_scales(people, probs, support_threshold)
    if keypoint_score == 'expected_oks':
        kscores = expected_oks_scores(hough, hough_stride, people, probs,
                                      scales, kappas, radius)
    else:
        kscores = hough_keypoint_scores(hough, hough_stride, people)
    return probs, scales, kscores


def ranked_people(people: Tensor, keypoint_scores: Tensor, probs: Tensor,
                  scores: Tensor, scales: Tensor,
                  order: Tensor) -> Dict[str, Tensor]:
    """The decoder's result dict: every per-person tensor in ``order``."""
    return dict(
        keypoints=people[order],
        keypoint_scores=keypoint_scores[order],
        keypoint_probs=probs[order],
        scores=scores[order],
        scales=scales[order])


def soft_nms_ranking(people: Tensor,
                     terms: Tuple[Tensor, Tensor, Tensor],
                     nms_radius: float,
                     max_people: int = 20,
                     valid: Optional[Tensor] = None) -> Dict[str, Tensor]:
    """Instance scores by keypoint soft-NMS (Eq. 4) of the grouped
    candidates, best ``max_people`` first.

    Args:
        people (Tensor): (J, K, 2) candidates in input pixels.
        terms (tuple): Their :func:`keypoint_terms`.
        nms_radius (float): r in input pixels.
        max_people (int): People kept.
        valid (Tensor, optional): (J,) bool; invalid candidates (padding)
            sort last with score ``-inf``.

    Returns:
        dict: ``keypoints`` (M, K, 2), ``keypoint_scores`` (M, K),
        ``keypoint_probs`` (M, K), ``scores`` (M,) and ``scales`` (M,) by
        descending score, ``M = min(J, max_people)``.
    """
    probs, scales, kscores = terms
    scores, order = keypoint_soft_nms(people, kscores, nms_radius, valid)
    return ranked_people(people, kscores, probs, scores, scales,
                         order[:max_people])
