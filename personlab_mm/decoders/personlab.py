"""PersonLab decoding (paper Sec. 3.1-3.2): dense maps -> people with
scores -> instance masks, composed from :mod:`personlab_mm.functional`.

The method's equations live in :mod:`.personlab_keypoints` (Eq. 1 Hough
voting, Eq. 3 Expected-OKS, Eq. 4 keypoint soft-NMS) and
:mod:`.personlab_masks` (Eq. 6). Every stage is one function; with
``compile`` the same functions run with fixed shapes through
``torch.compile``.
"""
import inspect
import math
from typing import Callable, Dict, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..functional import (compiled, covering_grid_size, follow_tree,
                          group_greedily, is_axis_aligned, oks_hard_nms,
                          tree_traversals)
from ..structures import DenseMaps, KeypointSet
from ..utils.timing import Stopwatch
from .map_specs import PERSONLAB_FIELDS
from .personlab_keypoints import (hough_maps, keypoint_seeds, keypoint_terms,
                                  ranked_people, soft_nms_ranking)
from .personlab_masks import person_masks


class PersonLabDecoder:
    """Group keypoints into people, score them and segment them.

    Steps (paper Sec. 3.1-3.2): Hough voting (Eq. 1), local maxima above
    ``peak_threshold`` as seeds in one queue over all keypoint types, greedy
    decoding along the kinematic tree with the mid-range offsets and an NMS
    radius, keypoint scores (Expected-OKS, Eq. 3, or Hough), instance scores
    with keypoint soft-NMS (Eq. 4) or OKS hard-NMS, at most ``max_people``,
    and masks from the geometric embedding (Eq. 6). Every setting except
    ``keypoints`` and ``radius`` is a key of the model's ``test_cfg``.

    Args:
        keypoints (KeypointSet): Keypoints, tree and OKS sigmas.
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
            is not there (support below ``support_threshold``) with the
            long-range offsets read at an anchor, the person's keypoint
            (placed from a present one) whose own long-range offset is
            shortest, i.e. one on the person's own pixels, instead of the
            meaningless mid-range offsets read at it (see
            :func:`~personlab_mm.functional.follow_tree`). Not in the paper;
            ``False`` gives the paper's plain mid-range chain. Defaults to
            True.
        support_threshold (float): A keypoint is present where its
            heatmap probability (with ``offsets_from_voters``: the vote
            mass of the cells voting for it, in cells voting exactly)
            reaches it. Defaults to 0.5.
        offsets_from_voters (bool): Read the mid-range offsets of a chain
            step at the cells whose short-range votes land on the parent
            keypoint, instead of bilinearly at it, and move each seed onto
            the votes of one keypoint (a Hough peak merges same-type
            keypoints closer than its window): with people one behind the
            other, same-type keypoints lie within a cell of each other and
            the bilinear read mixes both people's offsets, so chains jump
            from one person to the other (see
            :func:`~personlab_mm.functional.follow_tree`). Not in the
            paper; ``False`` reads bilinearly as the paper does. Defaults to
            True.
        voter_sigma (float): Gate of the votes in input pixels: a cell
            whose vote lands ``d`` pixels from the keypoint weighs
            ``p exp(-d^2 / (2 sigma^2))``. Defaults to 1.
        compile (bool | str): Decode with fixed shapes (every cell votes,
            the top ``max_seeds`` peaks, all seeds grouped at once,
            ``max_candidates`` people scored, dense grid-mode masks)
            through ``torch.compile(dynamic=True)``, with few host
            synchronisations per image (whether there are seeds, the
            greedy loop, the results): the same functions and people as
            the default path, without the per-operation launch cost that
            bounds decoding on a GPU; the first image of a process pays the
            compilation (117 s for the five stages on an H100, 33 s with
            inductor's on-disk cache warm, measured with an earlier code
            version). ``True``: on every device; ``'auto'``: on CUDA only;
            ``False`` (default): never. Masks in ``'pixel'`` mode are never
            compiled.
        compile_mode (str): ``torch.compile`` mode. Defaults to
            ``'default'``.
    """

    #: The maps :meth:`decode` reads.
    fields: Tuple[str, ...] = PERSONLAB_FIELDS

    def __init__(self,
                 keypoints: KeypointSet,
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
                 offsets_from_voters: bool = True,
                 voter_sigma: float = 1.,
                 compile: Union[bool, str] = False,
                 compile_mode: str = 'default') -> None:
        for name, value, allowed in (
            ('keypoint_score', keypoint_score, ('expected_oks', 'hough')),
            ('instance_nms', instance_nms, ('soft', 'oks')),
            ('mask_mode', mask_mode, ('grid', 'pixel')),
            ('compile', compile, (True, False, 'auto')),
        ):
            if value not in allowed:
                raise ValueError(f'{name} must be one of {allowed}, got '
                                 f'{value!r}')
        if max_people < 1 or max_seeds < 1 or max_candidates < 1:
            raise ValueError('max_people, max_seeds and max_candidates must '
                             'be positive')
        self.keypoints = keypoints
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
        self.offsets_from_voters = offsets_from_voters
        if voter_sigma <= 0:
            raise ValueError(
                f'voter_sigma must be positive, got {voter_sigma}')
        self.voter_sigma = float(voter_sigma)
        self.compile = compile
        self.compile_mode = compile_mode
        self.traversals = tree_traversals(keypoints.edges,
                                          keypoints.num_keypoints)
        self._device_constants: Dict[str, tuple] = {}

    #: Arguments that come from the codec, not from ``test_cfg``.
    codec_arguments: Tuple[str, ...] = ('keypoints', 'radius')

    @classmethod
    def setting_names(cls) -> Tuple[str, ...]:
        """The settings a ``test_cfg`` may give (every argument but
        :attr:`codec_arguments`)."""
        skip = ('self', 'kwargs', *cls.codec_arguments)
        names: Dict[str, None] = {}
        for klass in cls.__mro__:  # a subclass's own, then its bases'
            if issubclass(klass, PersonLabDecoder) and '__init__' in vars(
                    klass):
                names.update((n, None) for n in inspect.signature(
                    klass.__init__).parameters if n not in skip)
        return tuple(names)

    def fixed_shapes(self, device: torch.device) -> bool:
        """Whether images on ``device`` take the compiled fixed-shape
        stages."""
        if self.compile == 'auto':
            return torch.device(device).type == 'cuda'
        return bool(self.compile)

    def _stage(self, fn: Callable, fixed: bool) -> Callable:
        """``fn``, compiled when the stage runs with fixed shapes."""
        return compiled(fn, self.compile_mode) if fixed else fn

    def _constants(self, device: torch.device) -> tuple:
        """``(traversals, kappas)`` on ``device``, copied once."""
        key = str(device)
        if key not in self._device_constants:
            self._device_constants[key] = (
                tuple(t.to(device) for t in self.traversals),
                torch.as_tensor(self.keypoints.kappas, dtype=torch.float32,
                                device=device))
        return self._device_constants[key]

    # ---------------------------------------------------------------- decode
    @torch.no_grad()
    def decode(self,
               maps: DenseMaps,
               input_size: Tuple[int, int],
               image_to_input: Optional[np.ndarray] = None,
               image_hw: Optional[Tuple[int, int]] = None,
               timings: Optional[Dict[str, float]] = None
               ) -> Dict[str, Tensor]:
        """People (and their masks) in the maps of one image.

        Args:
            maps (DenseMaps): A batch of one with the
                :data:`PERSONLAB_FIELDS` (probabilities, offsets); any
                values (non-finite ones are sanitised).
            input_size (Tuple[int, int]): Network input ``(w, h)``.
            image_to_input (np.ndarray, optional): (2, 3) affine, image ->
                input pixels; with ``image_hw``, masks are decoded on the
                image grid.
            image_hw (Tuple[int, int], optional): Image size ``(h, w)``.
            timings (dict, optional): Filled with milliseconds per stage
                (``prepare``: sanitising and copying the maps, ``hough``,
                ``peaks``, ``grouping``, ``scoring``, ``masks``).

        Returns:
            dict: ``keypoints`` (J, K, 2) input pixels, ``keypoint_scores``
            (J, K), ``keypoint_probs`` (J, K), ``scores`` (J,) and
            ``scales`` (J,) by descending score, ``J <= max_people``; and
            ``masks`` (J, h, w) bool when the image geometry is given.
        """
        missing = [n for n in self.fields if n not in maps]
        if missing:
            raise ValueError(f'{type(self).__name__}: the maps lack '
                             f'{missing} (have {sorted(maps)})')
        device = maps.device
        fixed = self.fixed_shapes(device)
        clock = Stopwatch(timings, device)
        with clock('prepare'):
            # robustness: any network output (NaN, inf, huge) decodes
            m = maps.sanitized()
            t = {name: m[name][0] for name in self.fields}
            t['segmentation'] = t['segmentation'][0]
            if fixed:  # one compiled kernel for any layout or view
                t = {k: v.clone(memory_format=torch.contiguous_format)
                     for k, v in t.items()}
        people = self._people(t, m.stride, input_size, fixed, clock)
        people = self._rescore(t, people, m.stride)
        if image_hw is not None:
            with clock('masks'):
                people['masks'] = self._masks(t, m.stride, people,
                                              image_to_input, image_hw,
                                              fixed and self.mask_mode ==
                                              'grid')
        return people

    def _people(self, t: Dict[str, Tensor], stride: float,
                input_size: Tuple[int, int], fixed: bool,
                clock: Stopwatch) -> Dict[str, Tensor]:
        """Eq. 1 voting, seeds, greedy grouping, scores (see
        :meth:`decode`)."""
        heat = t['heatmaps']
        hs = float(self.hough_stride) if self.hough_stride else max(
            1., stride / 2.)
        with clock('hough'):
            hough = self._stage(hough_maps, fixed)(
                heat, t['short_offsets'], stride, self.radius, hs,
                covering_grid_size(input_size, hs), self.vote_threshold,
                fixed)
        with clock('peaks'):
            kpt, xy, valid = self._stage(keypoint_seeds, fixed)(
                hough, self.peak_threshold, hs, self.max_seeds, fixed)
            # valid seeds come first: one synchronisation
            anyone = bool(valid[:1].any())
        if not anyone:  # nobody: skip grouping and scoring
            return self._no_people(heat)
        traversals, kappas = self._constants(heat.device)
        with clock('grouping'):
            fallback = self.long_range_fallback
            voters = self.offsets_from_voters
            # where a keypoint's voting cells are looked for: the 5x5 cells
            # around it (3x3 when R is at most one cell)
            window = min(2, max(1, math.ceil(self.radius / stride)))
            follow = self._stage(follow_tree, fixed)

            def skeletons_of(seed_xy: Tensor, seed_kpt: Tensor) -> Tensor:
                return follow(seed_xy, seed_kpt, t['mid_offsets'], stride,
                              traversals, heat,
                              t['long_offsets'] if fallback else None,
                              self.support_threshold,
                              t['short_offsets'] if voters else None,
                              self.voter_sigma, window)

            people, _ = group_greedily(
                kpt, xy, skeletons_of, self.nms_radius, self.max_candidates,
                first_chunk=kpt.numel() if fixed else 64,
                valid=valid if fixed else None)
        with clock('scoring'):
            return self._score(heat, hough, hs, people, stride,
                               kappas.to(people.dtype), fixed)

    def _rescore(self, t: Dict[str, Tensor], people: Dict[str, Tensor],
                 stride: float) -> Dict[str, Tensor]:
        """Scores from maps other methods add (PersonLab: none)."""
        return people

    def _no_people(self, like: Tensor) -> Dict[str, Tensor]:
        K = self.keypoints.num_keypoints
        empty = like.new_zeros((0, K))
        return dict(
            keypoints=like.new_zeros((0, K, 2)),
            keypoint_scores=empty,
            keypoint_probs=empty.clone(),
            scores=like.new_zeros(0),
            scales=like.new_zeros(0))

    def _score(self, heat: Tensor, hough: Tensor, hs: float, people: Tensor,
               stride: float, kappas: Tensor,
               fixed: bool) -> Dict[str, Tensor]:
        """Scores, NMS and ranking of the grouped people."""
        J = people.shape[0]
        valid = None
        if fixed and self.instance_nms == 'soft':
            # padded to max_candidates: one compiled shape for all images
            P = max(self.max_candidates, J)
            people = torch.cat([people, people[:1].expand(P - J, -1, -1)])
            valid = torch.arange(P, device=people.device) < J
        terms = self._stage(keypoint_terms, fixed)(
            heat, hough, hs, people, stride, kappas, self.radius,
            self.support_threshold, self.keypoint_score)
        if self.instance_nms == 'oks':
            probs, scales, kscores = terms
            scores = kscores.mean(dim=1)
            order = oks_hard_nms(people, scores, scales, kappas,
                                 self.oks_nms_threshold)[:self.max_people]
            return ranked_people(people, kscores, probs, scores, scales,
                                 order)
        result = self._stage(soft_nms_ranking, fixed)(
            people, terms, self.nms_radius, self.max_people, valid)
        # padding sorts last: the first min(J, max_people) are people
        M = min(J, self.max_people)
        return {k: v[:M] for k, v in result.items()}

    def _masks(self, t: Dict[str, Tensor], stride: float,
               people: Dict[str, Tensor], image_to_input: np.ndarray,
               image_hw: Tuple[int, int], fixed: bool) -> Tensor:
        """(J, h, w) masks of the people (Eq. 6); with fixed shapes the
        people are padded to ``max_people`` (one compiled shape per image
        size)."""
        long = t['long_offsets']
        J = people['keypoints'].shape[0]
        if J == 0:
            return torch.zeros((0, *image_hw), dtype=torch.bool,
                               device=long.device)
        kp, probs, scales, valid = self._padded_people(people, fixed)
        # the affine in float32, as it always was
        A = torch.as_tensor(np.asarray(image_to_input, dtype=np.float32),
                            device=long.device)
        masks = self._stage(person_masks, fixed)(
            t['segmentation'], long, stride, kp, probs, scales, valid, A,
            tuple(int(v) for v in image_hw), self.seg_threshold,
            self.mask_threshold, self.mask_mode,
            is_axis_aligned(image_to_input), fixed)
        return masks[:J]

    def _padded_people(self, people: Dict[str, Tensor], fixed: bool
                       ) -> Tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
        """Keypoints (J', K, 2), keypoint probabilities (J', K), scales
        (J',) and which are people (J',) bool; with fixed shapes padded to
        ``J' = max(max_people, J)`` (one compiled shape per image size),
        else as they are (``J' = J``, no validity mask)."""
        kp, probs, scales = (people['keypoints'], people['keypoint_probs'],
                             people['scales'])
        if not fixed:
            return kp, probs, scales, None
        J = kp.shape[0]
        pad = max(self.max_people, J) - J
        return (F.pad(kp, (0, 0, 0, 0, 0, pad)), F.pad(probs, (0, 0, 0, pad)),
                F.pad(scales, (0, pad), value=1.),
                torch.arange(J + pad, device=kp.device) < J)
