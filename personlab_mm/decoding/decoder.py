"""PersonLab decoding: dense maps -> people with scores -> instance masks."""
import time
from contextlib import contextmanager
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .grouping import (follow_tree, greedy_accept, group_greedily, group_seeds,
                       tree_traversals)
from .hough import (find_peaks, find_peaks_dense, hough_grid_size,
                    hough_voting, hough_voting_dense)
from .masks import assign_masks, assign_masks_dense
from .sanitize import sanitize_maps
from .scoring import (keypoint_terms, oks_hard_nms, ranked_people,
                      score_candidates)


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


_COMPILED: Dict[Tuple[Callable, str], Callable] = {}


def _compile(fn: Callable, mode: str) -> Callable:
    """``torch.compile(fn, mode=mode)``, one wrapper per function and mode
    for the whole process (decoders share compiled code)."""
    key = (fn, mode)
    if key not in _COMPILED:
        # dynamic: one compilation serves every image and map size
        _COMPILED[key] = torch.compile(fn, mode=mode, dynamic=True)
    return _COMPILED[key]


def _fresh(maps: 'PersonLabMaps', fields: Sequence[str]) -> 'PersonLabMaps':
    """The maps with ``fields`` copied into fresh contiguous tensors: the
    compiled stages see the same kind of input (not a view, same layout)
    whatever the network gives (views of a batch, channels-last strides),
    so one compilation serves all. A few MB copied per image."""
    return maps._replace(
        **{name: getattr(maps, name).clone(
            memory_format=torch.contiguous_format)
           for name in fields})


class Stopwatch:
    """Per-stage wall time in milliseconds (device-synchronised), added to
    ``timings[name]`` when ``timings`` is a dict; free otherwise."""

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
        compile (bool | str): Decode with fixed-shape stages (dense Hough
            voting, the top ``max_seeds`` peaks, all seeds grouped at once,
            ``max_candidates`` people scored, dense grid-mode masks) run
            through ``torch.compile(dynamic=True)``, with few host
            synchronisations per image (whether there are seeds, the
            greedy loop, the results). Same people and masks
            as the default path (up to float rounding), without the
            per-operation launch cost that bounds decoding on a GPU; the
            first image of a process pays the compilation (117 s for the
            five stages on an H100, 33 s with inductor's on-disk cache
            warm; other sizes and layouts reuse it). ``True``: on every
            device; ``'auto'``: on CUDA only; ``False`` (default): never.
            Not for ``mask_mode='pixel'``.
        compile_mode (str): ``torch.compile`` mode. Defaults to
            ``'default'``.
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
                 support_threshold: float = 0.5,
                 compile: Union[bool, str] = False,
                 compile_mode: str = 'default') -> None:
        if keypoint_score not in ('expected_oks', 'hough'):
            raise ValueError("keypoint_score must be 'expected_oks' or "
                             f"'hough', got {keypoint_score!r}")
        if instance_nms not in ('soft', 'oks'):
            raise ValueError("instance_nms must be 'soft' or 'oks', got "
                             f'{instance_nms!r}')
        if max_people < 1 or max_seeds < 1 or max_candidates < 1:
            raise ValueError('max_people, max_seeds and max_candidates must '
                             'be positive')
        if compile not in (True, False, 'auto'):
            raise ValueError("compile must be True, False or 'auto', got "
                             f'{compile!r}')
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
        self.compile = compile
        self.compile_mode = compile_mode
        self._device_constants: Dict[str, tuple] = {}

    def _static(self, device: torch.device) -> bool:
        """Whether images on ``device`` take the compiled fixed-shape
        path."""
        if self.compile == 'auto':
            return device.type == 'cuda'
        return bool(self.compile)

    def _constants(self, device: torch.device) -> tuple:
        """``(traversals, kappas)`` on ``device``, copied once."""
        key = str(device)
        if key not in self._device_constants:
            self._device_constants[key] = (tuple(
                t.to(device) for t in self.traversals), self.kappas.to(device))
        return self._device_constants[key]

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
                (``prepare``: sanitising and copying the maps, ``hough``,
                ``peaks``, ``grouping``, ``scoring``).

        Returns:
            dict: ``keypoints`` (J, K, 2) input pixels, ``keypoint_scores``
            (J, K), ``keypoint_probs`` (J, K), ``scores`` (J,) and
            ``scales`` (J,), by descending score, ``J <= max_people``.
        """
        clock = Stopwatch(timings, maps.heatmaps.device)
        with clock('prepare'):
            # robustness: any network output (NaN, inf, huge) becomes
            # decodable
            maps = sanitize_maps(maps, ('heatmaps', 'short_offsets',
                                        'mid_offsets', 'long_offsets'))
            heatmaps = torch.nan_to_num(maps.heatmaps, nan=0.)
        stride = float(maps.stride)
        hs = self._hough_stride(stride)
        if self._static(heatmaps.device):
            return self._decode_poses_static(maps, heatmaps, input_size,
                                             clock)
        with clock('hough'):
            hough = hough_voting(
                heatmaps,
                maps.short_offsets, stride, self.radius, hs,
                hough_grid_size(input_size, hs), self.vote_threshold)
        with clock('peaks'):
            _, seed_kpt, seed_xy = find_peaks(hough, self.peak_threshold, hs,
                                              self.max_seeds)
        if seed_kpt.numel() == 0:  # nobody: skip grouping and scoring
            return self._no_people(heatmaps)
        with clock('grouping'):
            fallback = self.long_range_fallback

            def skeletons_of(xy: Tensor, kpt: Tensor) -> Tensor:
                return follow_tree(xy, kpt, maps.mid_offsets, stride,
                                   self.traversals,
                                   heatmaps if fallback else None,
                                   maps.long_offsets if fallback else None,
                                   self.support_threshold)

            people, _ = group_greedily(seed_kpt, seed_xy, skeletons_of,
                                       self.nms_radius, self.max_candidates)
        with clock('scoring'):
            result = self._score(maps, hough, hs, people)
        return result

    def _no_people(self, like: Tensor) -> Dict[str, Tensor]:
        K = self.num_keypoints
        empty = like.new_zeros((0, K))
        return dict(
            keypoints=like.new_zeros((0, K, 2)),
            keypoint_scores=empty,
            keypoint_probs=empty.clone(),
            scores=like.new_zeros(0),
            scales=like.new_zeros(0))

    def _score(self, maps: PersonLabMaps, hough: Tensor, hough_stride: float,
               people: Tensor) -> Dict[str, Tensor]:
        stride = float(maps.stride)
        heatmaps = torch.nan_to_num(maps.heatmaps, nan=0.)
        kappas = self.kappas.to(people.device, people.dtype)
        if self.instance_nms == 'soft':
            return score_candidates(heatmaps, hough, hough_stride, people,
                                    stride, kappas, self.radius,
                                    self.support_threshold,
                                    self.nms_radius, self.keypoint_score,
                                    self.max_people)
        probs, scales, kscores = keypoint_terms(
            heatmaps, hough, hough_stride, people, stride, kappas,
            self.radius, self.support_threshold, self.keypoint_score)
        scores = kscores.mean(dim=1)
        order = oks_hard_nms(people, scores, scales, kappas,
                             self.oks_nms_threshold)[:self.max_people]
        return ranked_people(people, kscores, probs, scores, scales, order)

    def _decode_poses_static(self, maps: PersonLabMaps, heatmaps: Tensor,
                             input_size: Tuple[int, int],
                             clock: 'Stopwatch') -> Dict[str, Tensor]:
        """:meth:`decode_poses` with the compiled fixed-shape stages.

        Seeds are the top ``max_seeds`` Hough peaks (padding flagged
        invalid); all of them are grouped; one transfer brings the seed
        conflicts to the host for the greedy loop; the accepted people,
        padded to ``max_candidates``, are scored and sorted; the results
        stay on the device.
        """
        mode = self.compile_mode
        stride = float(maps.stride)
        hs = self._hough_stride(stride)
        traversals, kappas = self._constants(heatmaps.device)
        with clock('prepare'):
            maps = _fresh(maps,
                          ('short_offsets', 'mid_offsets', 'long_offsets'))
            heatmaps = heatmaps.clone(memory_format=torch.contiguous_format)
        with clock('hough'):
            hough = _compile(hough_voting_dense, mode)(
                heatmaps, maps.short_offsets, stride, self.radius, hs,
                hough_grid_size(input_size, hs), self.vote_threshold)
        with clock('peaks'):
            _, seed_kpt, seed_xy, valid = _compile(find_peaks_dense, mode)(
                hough, self.peak_threshold, hs, self.max_seeds)
            # valid seeds come first: one synchronisation to skip the rest
            # of an image without people
            anyone = bool(valid[0])
        if not anyone:
            return self._no_people(heatmaps)
        with clock('grouping'):
            fallback = self.long_range_fallback
            skeletons, covers = _compile(group_seeds, mode)(
                seed_xy, seed_kpt, maps.mid_offsets, stride, traversals,
                heatmaps if fallback else None,
                maps.long_offsets if fallback else None,
                self.support_threshold, self.nms_radius)
            host = torch.cat([valid[None], covers]).cpu().numpy()
            accepted = greedy_accept(host[1:], self.max_candidates, host[0],
                                     transposed=True)
        if not accepted:
            return self._no_people(heatmaps)
        with clock('scoring'):
            J, P = len(accepted), self.max_candidates
            if self.instance_nms != 'soft':
                people = skeletons[torch.as_tensor(
                    accepted, device=heatmaps.device)]
                return self._score(maps, hough, hs, people)
            # padded to P candidates: one compiled shape for all images
            select = torch.as_tensor(
                [accepted + [0] * (P - J), [1] * J + [0] * (P - J)],
                device=heatmaps.device)
            result = _compile(score_candidates, mode)(
                heatmaps, hough, hs, skeletons[select[0]], stride,
                kappas.to(skeletons.dtype), self.radius,
                self.support_threshold, self.nms_radius,
                self.keypoint_score, self.max_people, select[1] > 0)
        # invalid entries sort last: the first min(J, max_people) are people
        M = min(J, self.max_people)
        return {k: v[:M] for k, v in result.items()}

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
            timings (dict, optional): Adds ``masks`` (and ``prepare``)
                milliseconds.
        """
        clock = Stopwatch(timings, maps.heatmaps.device)
        with clock('prepare'):
            # robustness: any network output (NaN, inf, huge) becomes
            # decodable
            maps = sanitize_maps(maps, ('segmentation', 'long_offsets'))
        if self._static(maps.heatmaps.device) and self.mask_mode == 'grid':
            with clock('masks'):
                return self._decode_masks_static(maps, poses, image_to_input,
                                                 image_hw)
        with clock('masks'):
            masks = assign_masks(
                torch.nan_to_num(maps.segmentation, nan=0.),
                maps.long_offsets, float(maps.stride), poses['keypoints'],
                poses['keypoint_probs'], poses['scales'], image_to_input,
                image_hw, self.seg_threshold, self.mask_threshold,
                self.mask_mode)
        return masks

    def _decode_masks_static(self, maps: PersonLabMaps,
                             poses: Dict[str, Tensor], image_to_input,
                             image_hw: Tuple[int, int]) -> Tensor:
        """:meth:`decode_masks` with the compiled dense grid-mode
        assignment, people padded to ``max_people`` (one compiled shape per
        image size)."""
        J, K = poses['keypoints'].shape[:2]
        device = maps.heatmaps.device
        if J == 0:
            return torch.zeros((0, *image_hw), dtype=torch.bool,
                               device=device)
        M = max(self.max_people, J)
        pad = M - J
        A = torch.as_tensor(image_to_input, dtype=maps.long_offsets.dtype,
                            device=device)
        valid = (torch.arange(M) < J).to(device)
        maps = _fresh(maps, ('segmentation', 'long_offsets'))
        masks = _compile(assign_masks_dense, self.compile_mode)(
            torch.nan_to_num(maps.segmentation, nan=0.), maps.long_offsets,
            float(maps.stride),
            F.pad(poses['keypoints'], (0, 0, 0, 0, 0, pad)),
            F.pad(poses['keypoint_probs'], (0, 0, 0, pad)),
            F.pad(poses['scales'], (0, pad), value=1.), valid,
            A, image_hw, self.seg_threshold, self.mask_threshold)
        return masks[:J]
