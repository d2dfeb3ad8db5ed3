"""PersonLab decoding: dense maps -> people with scores -> instance masks."""
import time
from contextlib import contextmanager
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .grouping import follow_tree, greedy_select, tree_traversals
from .hough import find_peaks, hough_grid_size, hough_voting
from .masks import assign_masks
from .scoring import (expected_oks_scores, hough_keypoint_scores,
                      instance_scales, oks_hard_nms, sample_keypoint_maps,
                      soft_nms)


class PersonLabMaps(NamedTuple):
    """The dense outputs of one image, ready to decode.

    Attributes:
        heatmaps (Tensor): (K, H, W) keypoint probabilities.
        short_offsets (Tensor): (K, 2, H, W) in input pixels.
        mid_offsets (Tensor): (E, 2, H, W), refined.
        long_offsets (Tensor): (K, 2, H, W), refined.
        segmentation (Tensor): (H, W) person probabilities.
        stride (float): Grid stride: cell (i, j) sits at input pixel
            ``(j * stride, i * stride)``.
    """
    heatmaps: Tensor
    short_offsets: Tensor
    mid_offsets: Tensor
    long_offsets: Tensor
    segmentation: Tensor
    stride: float


class _Stopwatch:
    """Per-stage wall time (device-synchronised) when ``timings`` is a
    dict."""

    def __init__(self, timings: Optional[Dict[str, float]], device):
        self.timings = timings
        self.sync = (torch.cuda.synchronize
                     if device.type == 'cuda' else (lambda: None))

    @contextmanager
    def __call__(self, name: str):
        if self.timings is None:
            yield
            return
        self.sync()
        start = time.perf_counter()
        yield
        self.sync()
        self.timings[name] = self.timings.get(name, 0.) + (
            time.perf_counter() - start) * 1e3


class PersonLabDecoder:
    """Group keypoints into people, score them and segment them.

    Steps (paper Sec. 3.1-3.2): Hough voting (Eq. 1), local maxima above
    ``peak_threshold`` as seeds in one queue over all keypoint types, greedy
    decoding along the kinematic tree with the mid-range offsets and an NMS
    radius, keypoint scores (Expected-OKS, Eq. 3, or Hough), instance scores
    with keypoint soft-NMS (Eq. 4) or OKS hard-NMS, at most ``max_people``,
    and masks from the geometric embedding (Eq. 6).

    Args:
        edges (Sequence[Tuple[int, int]]): Directed kinematic-tree edges.
        kappas (Sequence[float]): Per-keypoint OKS constants
            (``2 * sigma``).
        radius (float): Disk radius R in input pixels.
        peak_threshold (float): Minimum seed score. Defaults to 0.01.
        nms_radius (float): r in input pixels. Defaults to 10.
        max_people (int): People per image. Defaults to 20.
        keypoint_score (str): ``'expected_oks'`` or ``'hough'``.
        instance_nms (str): ``'soft'`` (Eq. 4) or ``'oks'`` (hard).
        oks_nms_threshold (float): OKS threshold of hard NMS. Defaults to
            0.5.
        seg_threshold (float): Person probability threshold. Defaults to
            0.5.
        mask_threshold (float): t of Eq. 6. Defaults to 0.25.
        mask_mode (str): ``'grid'``: Eq. 6 once per output cell,
            interpolated at the image pixels; ``'pixel'``: at every image
            pixel (``J * K`` times the work). Defaults to ``'grid'``.
        hough_stride (float, optional): Hough cell size in input pixels;
            defaults to half the map stride.
        vote_threshold (float): Cells with a lower keypoint probability do
            not vote. Defaults to 1e-3.
        max_seeds (int): Seeds kept, by score. Defaults to 1000.
        max_candidates (int): People grouped before scoring and NMS.
            Defaults to 100.
        long_range_fallback (bool): Place the children of a keypoint that
            is not there (probability below ``support_threshold``) with the
            long-range offsets of the nearest present ancestor instead of
            the meaningless mid-range offsets read at it (see
            :func:`follow_tree`). Not in the paper; ``False`` gives the
            paper's plain mid-range chain. Defaults to True.
        support_threshold (float): Defaults to 0.5.
    """

    def __init__(self,
                 edges: Sequence[Tuple[int, int]],
                 kappas: Sequence[float],
                 radius: float,
                 peak_threshold: float = 0.01,
                 nms_radius: float = 10.,
                 max_people: int = 20,
                 keypoint_score: str = 'expected_oks',
                 instance_nms: str = 'soft',
                 oks_nms_threshold: float = 0.5,
                 seg_threshold: float = 0.5,
                 mask_threshold: float = 0.25,
                 mask_mode: str = 'grid',
                 hough_stride: Optional[float] = None,
                 vote_threshold: float = 1e-3,
                 max_seeds: int = 1000,
                 max_candidates: int = 100,
                 long_range_fallback: bool = True,
                 support_threshold: float = 0.5) -> None:
        if keypoint_score not in ('expected_oks', 'hough'):
            raise ValueError("keypoint_score must be 'expected_oks' or "
                             f"'hough', got {keypoint_score!r}")
        if instance_nms not in ('soft', 'oks'):
            raise ValueError("instance_nms must be 'soft' or 'oks', got "
                             f'{instance_nms!r}')
        if max_people < 1 or max_seeds < 1 or max_candidates < 1:
            raise ValueError('max_people, max_seeds and max_candidates must '
                             'be positive')
        self.edges = [tuple(e) for e in edges]
        self.kappas = torch.as_tensor(kappas, dtype=torch.float32)
        self.num_keypoints = len(self.kappas)
        self.traversals = tree_traversals(self.edges, self.num_keypoints)
        self.radius = float(radius)
        self.peak_threshold = peak_threshold
        self.nms_radius = nms_radius
        self.max_people = max_people
        self.keypoint_score = keypoint_score
        self.instance_nms = instance_nms
        self.oks_nms_threshold = oks_nms_threshold
        self.seg_threshold = seg_threshold
        self.mask_threshold = mask_threshold
        self.mask_mode = mask_mode
        self.hough_stride = hough_stride
        self.vote_threshold = vote_threshold
        self.max_seeds = max_seeds
        self.max_candidates = max_candidates
        self.long_range_fallback = long_range_fallback
        self.support_threshold = support_threshold

    def _hough_stride(self, stride: float) -> float:
        return float(self.hough_stride) if self.hough_stride else max(
            1., stride / 2.)

    @torch.no_grad()
    def decode_poses(self,
                     maps: PersonLabMaps,
                     input_size: Tuple[int, int],
                     timings: Optional[Dict[str, float]] = None
                     ) -> Dict[str, Tensor]:
        """People from the maps of one image.

        Args:
            maps (PersonLabMaps): Dense outputs.
            input_size (Tuple[int, int]): Network input ``(w, h)``.
            timings (dict, optional): Filled with milliseconds per stage
                (``hough``, ``peaks``, ``grouping``, ``scoring``).

        Returns:
            dict: ``keypoints`` (J, K, 2) input pixels, ``keypoint_scores``
            (J, K), ``keypoint_probs`` (J, K), ``scores`` (J,) and
            ``scales`` (J,), by descending score, ``J <= max_people``.
        """
        clock = _Stopwatch(timings, maps.heatmaps.device)
        stride = float(maps.stride)
        hs = self._hough_stride(stride)
        heatmaps = torch.nan_to_num(maps.heatmaps, nan=0.)
        with clock('hough'):
            hough = hough_voting(
                heatmaps,
                maps.short_offsets, stride, self.radius, hs,
                hough_grid_size(input_size, hs), self.vote_threshold)
        with clock('peaks'):
            _, seed_kpt, seed_xy = find_peaks(hough, self.peak_threshold, hs,
                                              self.max_seeds)
        if seed_kpt.numel() == 0:  # nobody: skip grouping and scoring
            K = self.num_keypoints
            empty = heatmaps.new_zeros((0, K))
            return dict(
                keypoints=heatmaps.new_zeros((0, K, 2)),
                keypoint_scores=empty,
                keypoint_probs=empty.clone(),
                scores=heatmaps.new_zeros(0),
                scales=heatmaps.new_zeros(0))
        with clock('grouping'):
            fallback = self.long_range_fallback
            skeletons = follow_tree(
                seed_xy, seed_kpt, maps.mid_offsets, stride, self.traversals,
                heatmaps if fallback else None,
                maps.long_offsets if fallback else None,
                self.support_threshold)
            accepted = greedy_select(seed_kpt, seed_xy, skeletons,
                                     self.nms_radius, self.max_candidates)
            people = skeletons[accepted]
        with clock('scoring'):
            result = self._score(maps, hough, hs, people)
        return result

    def _score(self, maps: PersonLabMaps, hough: Tensor, hough_stride: float,
               people: Tensor) -> Dict[str, Tensor]:
        stride = float(maps.stride)
        probs = sample_keypoint_maps(
            torch.nan_to_num(maps.heatmaps, nan=0.), people,
            stride).clamp(0, 1)
        scales = instance_scales(people, probs, self.support_threshold)
        kappas = self.kappas.to(people.device, people.dtype)
        if self.keypoint_score == 'expected_oks':
            kscores = expected_oks_scores(hough, hough_stride, people, probs,
                                          scales, kappas, self.radius)
        else:
            kscores = hough_keypoint_scores(hough, hough_stride, people)
        if self.instance_nms == 'soft':
            scores, order = soft_nms(people, kscores, self.nms_radius)
        else:
            scores = kscores.mean(dim=1)
            order = oks_hard_nms(people, scores, scales, kappas,
                                 self.oks_nms_threshold)
        order = order[:self.max_people]
        return dict(
            keypoints=people[order],
            keypoint_scores=kscores[order],
            keypoint_probs=probs[order],
            scores=scores[order],
            scales=scales[order])

    @torch.no_grad()
    def decode_masks(self,
                     maps: PersonLabMaps,
                     poses: Dict[str, Tensor],
                     image_to_input: Tensor,
                     image_hw: Tuple[int, int],
                     timings: Optional[Dict[str, float]] = None) -> Tensor:
        """(J, h, w) bool masks of the people on the image grid (Eq. 6).

        Args:
            maps (PersonLabMaps): Dense outputs.
            poses (dict): Output of :meth:`decode_poses`.
            image_to_input (Tensor): (2, 3) affine, image -> input pixels.
            image_hw (Tuple[int, int]): Image size ``(h, w)``.
            timings (dict, optional): Adds ``masks`` milliseconds.
        """
        clock = _Stopwatch(timings, maps.heatmaps.device)
        with clock('masks'):
            masks = assign_masks(
                torch.nan_to_num(maps.segmentation, nan=0.),
                maps.long_offsets, float(maps.stride), poses['keypoints'],
                poses['keypoint_probs'], poses['scales'], image_to_input,
                image_hw, self.seg_threshold, self.mask_threshold,
                self.mask_mode)
        return masks
