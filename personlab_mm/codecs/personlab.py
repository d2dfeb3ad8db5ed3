"""PersonLab label codec: dense training targets from people."""
import copy
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS

from ..functional import grid_size
from ..structures import DenseMaps, KeypointSet
from .disks import disk_cells, keypoint_regions
from .ownership import PeopleOnGrid, claimed_cells


@KEYPOINT_CODECS.register_module()
class PersonLabCodec(BaseKeypointCodec):
    r"""Encode people into PersonLab's dense targets.

    See `PersonLab (ECCV 2018)`_, Sec. 3.1-3.2. All maps live on the network
    output grid: grid cell ``(i, j)`` sits at input pixel ``(x, y) =
    (j * s, i * s)`` for output stride ``s`` (strided convolutions with
    ``padding = kernel // 2`` keep this corner alignment, so an input of
    ``w`` pixels gives ``ceil(w / s)`` cells; ``801 = 16 * 50 + 1`` puts the
    last cell exactly on the last pixel). Every offset is a displacement in
    **input pixels**.

    Note:

        - instance number: N
        - keypoint number: K
        - directed edge number: E (``2 * (K - 1)``, 32 for COCO)
        - input size: [w, h]
        - output grid size: [W, H] = [ceil(w / s), ceil(h / s)]

    Symbols (paper notation):

        - :math:`p_k(x)`: keypoint heatmap, 1 inside the disk
          :math:`\mathcal{D}_R(y_{j,k})` of radius ``radius`` around
          keypoint ``k`` of any person ``j``
        - :math:`S_k(x) = y_{j,k} - x`: short-range offset to keypoint ``k``
          of the closest person, defined inside the disks
        - :math:`M_{k,l}(x) = y_{j,l} - x`: mid-range offset, defined inside
          the disk of keypoint ``k`` of person ``j`` (the closest one) when
          both ``k`` and ``l`` of ``j`` are labelled
        - :math:`L_k(x) = y_{j,k} - x`: long-range offset, defined at pixels
          inside exactly one person's mask ``j`` when ``k`` of ``j`` is
          labelled
        - :math:`p_S(x)`: person segmentation

    Encoded:

        - heatmaps (np.ndarray): (K, H, W) binary disks
        - heatmap_weights (np.ndarray): (1, H, W), 0 in crowd regions and on
          people with fewer than ``min_keypoints`` labelled keypoints
        - short_offsets (np.ndarray): (2K, H, W), channels ``(x_k, y_k)``
          interleaved per keypoint
        - short_weights (np.ndarray): (K, H, W), 1 inside the disks
        - mid_offsets (np.ndarray): (2E, H, W), ``(x_e, y_e)`` per directed
          edge ``e`` in :attr:`edges` order
        - mid_weights (np.ndarray): (E, H, W)
        - long_offsets (np.ndarray): (2K, H, W)
        - long_weights (np.ndarray): (K, H, W)
        - segmentation (np.ndarray): (1, H, W) fraction of each cell covered
          by people (soft targets give sub-cell mask borders after bilinear
          upsampling)
        - segmentation_weights (np.ndarray): (1, H, W), 0 in crowd regions

    Args:
        input_size (Tuple[int, int]): Network input size ``(w, h)`` in
            pixels. Defaults to ``(801, 801)``.
        output_stride (int): Stride ``s`` of the output grid. Defaults to 16.
        radius (float): Disk radius ``R`` in input pixels. Defaults to 32.
        metainfo (str | dict): The dataset's keypoint set, as MMPose
            dataset metainfo: ``dict(from_file='configs/_base_/datasets/
            coco.py')`` (MMPose's own files resolve inside the installed
            package), a path, or a ``dataset_info`` dict; see
            :meth:`personlab_mm.structures.KeypointSet.from_metainfo`.
        tree_edges (str | Sequence[Tuple[int, int]], optional): The
            kinematic tree of the mid-range offsets: undirected edges, or a
            named tree (``'personlab_coco'``, the paper's tree over COCO's
            keypoints); None derives it from the metainfo's skeleton links
            (:func:`personlab_mm.structures.spanning_tree`).
        min_keypoints (int): People with fewer labelled keypoints are not
            trained on and their masks are excluded from the heatmap loss
            (COCO's small unannotated people). Defaults to 1.

    Decoding settings are not codec arguments: they are the model's
    ``test_cfg`` keys (:class:`personlab_mm.decoders.PersonLabDecoder`).
    :meth:`decode` keeps MMPose's codec contract with the paper's settings.

    .. _`PersonLab (ECCV 2018)`: https://arxiv.org/abs/1803.08225
    """

    auxiliary_encode_keys = {'person_masks', 'crowd_mask'}

    field_mapping_table = dict(
        heatmaps='heatmaps',
        heatmap_weights='heatmap_weights',
        short_offsets='short_offsets',
        short_weights='short_weights',
        mid_offsets='mid_offsets',
        mid_weights='mid_weights',
        long_offsets='long_offsets',
        long_weights='long_weights',
        segmentation='segmentation',
        segmentation_weights='segmentation_weights',
    )

    def __init__(self,
                 input_size: Tuple[int, int] = (801, 801),
                 output_stride: int = 16,
                 radius: float = 32.,
                 metainfo: Union[None, str, Mapping] = None,
                 tree_edges: Union[None, str, Sequence[Sequence[int]]] = None,
                 min_keypoints: int = 1,
                 decoder: Optional[dict] = None) -> None:
        super().__init__()
        if decoder is not None:
            raise ValueError(
                'PersonLabCodec(decoder=...) is gone: decoding settings are '
                "keys of the model's test_cfg now, e.g. "
                'model.test_cfg.max_people=20 or model.test_cfg.compile=False'
                f' (got decoder={decoder})')
        if metainfo is None:
            raise ValueError(
                'PersonLabCodec needs metainfo: the keypoint set (names, '
                'flip pairs, sigmas, skeleton) of the dataset, e.g. '
                "metainfo=dict(from_file='configs/_base_/datasets/coco.py')"
                " with tree_edges='personlab_coco' for the paper's COCO "
                'tree')
        if output_stride < 1 or int(output_stride) != output_stride:
            raise ValueError(
                'output_stride must be a positive integer, got '
                f'{output_stride}')
        if radius <= 0:
            raise ValueError(f'radius must be positive, got {radius}')
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.output_stride = int(output_stride)
        self.radius = float(radius)
        self.keypoints = KeypointSet.from_metainfo(metainfo, tree_edges)
        self.min_keypoints = int(min_keypoints)
        # out_edges[k]: the directed edges leaving keypoint k, -1 padded
        degree = np.bincount(self.keypoints.edge_sources,
                             minlength=self.num_keypoints)
        self._out_edges = np.full((self.num_keypoints, degree.max()), -1,
                                  dtype=np.int64)
        for k in range(self.num_keypoints):
            edges_k = np.nonzero(self.keypoints.edge_sources == k)[0]
            self._out_edges[k, :edges_k.size] = edges_k

    # ---------------------------------------------------- keypoints, grid
    @property
    def num_keypoints(self) -> int:
        """K."""
        return self.keypoints.num_keypoints

    @property
    def edges(self):
        """The directed edges of the kinematic tree."""
        return self.keypoints.edges

    @property
    def num_edges(self) -> int:
        """Number of directed edges E."""
        return self.keypoints.num_edges

    @property
    def edge_targets(self) -> np.ndarray:
        """(E,) target keypoint of each directed edge."""
        return self.keypoints.edge_targets

    @property
    def heatmap_size(self) -> Tuple[int, int]:
        """Output grid ``(W, H)`` of :attr:`input_size`."""
        return grid_size(self.input_size, self.output_stride)

    # ---------------------------------------------------------------- encode
    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None,
               person_masks: Optional[np.ndarray] = None,
               crowd_mask: Optional[np.ndarray] = None,
               segmentation: Optional[np.ndarray] = None,
               masked: Optional[np.ndarray] = None
               ) -> Dict[str, np.ndarray]:
        """Build every PersonLab target for one image.

        Masks may be binary or *coverage* maps (the fraction of each cell's
        area inside the mask, see ``GeneratePersonLabTargets``). A person
        owns the cells it covers by at least half; ignore regions (crowds,
        people without enough keypoints) take every cell they touch.

        Args:
            keypoints (np.ndarray): (N, K, 2) keypoints of the non-crowd
                people, in input pixels.
            keypoints_visible (np.ndarray, optional): (N, K); a keypoint is
                labelled where it is > 0. Defaults to all labelled.
            person_masks (np.ndarray, optional): (N, H, W) masks (bool or
                coverage in [0, 1]) of the same people on the output grid.
                Defaults to no masks.
            crowd_mask (np.ndarray, optional): (H, W) union of crowd
                regions (bool or coverage). Defaults to no crowd.
            segmentation (np.ndarray, optional): (H, W) person coverage of
                each cell (the union of all people), the segmentation
                target; defaults to the per-cell maximum of
                ``person_masks``.
            masked (np.ndarray, optional): (N,) bool, the people annotated
                with a mask (default: all). A person without one (keypoint
                -only data) owns the union of its keypoint disks instead
                (:func:`~personlab_mm.codecs.disks.keypoint_regions`), where
                its long-range offsets are trained (cells another person
                also owns are not); the image's segmentation is then not
                trained (``segmentation_weights`` 0).

        Returns:
            dict: the arrays listed under ``Encoded`` in the class docstring.
        """
        W, H = self.heatmap_size
        K, E = self.num_keypoints, self.num_edges
        keypoints = np.asarray(keypoints, dtype=np.float32)
        if keypoints.size == 0:
            keypoints = keypoints.reshape(0, K, 2)
        if keypoints.ndim != 3 or keypoints.shape[1:] != (K, 2):
            raise ValueError(f'keypoints must have shape (N, {K}, 2), got '
                             f'{keypoints.shape}')
        N = keypoints.shape[0]
        if keypoints_visible is None:
            keypoints_visible = np.ones((N, K), dtype=np.float32)
        keypoints_visible = np.asarray(keypoints_visible).reshape(N, K)
        coverage = np.zeros((N, H, W), np.float32) if person_masks is None \
            else np.asarray(person_masks, dtype=np.float32)
        if coverage.shape != (N, H, W):
            raise ValueError(f'person_masks must have shape {(N, H, W)} (one '
                             f'mask per person on the {W}x{H} output grid), '
                             f'got {coverage.shape}')
        crowd = np.zeros((H, W), np.float32) if crowd_mask is None else \
            np.asarray(crowd_mask, dtype=np.float32)
        if crowd.shape != (H, W):
            raise ValueError(f'crowd_mask must have shape {(H, W)}, got '
                             f'{crowd.shape}')
        if segmentation is None:
            segmentation = coverage.max(axis=0) if N else np.zeros(
                (H, W), np.float32)
        segmentation = np.asarray(segmentation, dtype=np.float32)
        if segmentation.shape != (H, W):
            raise ValueError(f'segmentation must have shape {(H, W)}, got '
                             f'{segmentation.shape}')

        labelled = (keypoints_visible > 0) & np.isfinite(keypoints).all(-1)
        trained = labelled.sum(axis=1) >= self.min_keypoints  # (N,)
        labelled &= trained[:, None]
        masked = np.ones(N, bool) if masked is None else np.asarray(
            masked, dtype=bool)
        if masked.shape != (N,):
            raise ValueError(f'masked must have shape ({N},) (one flag per '
                             f'person), got {masked.shape}')
        if not masked.all():
            coverage = coverage.copy()
            coverage[~masked] = keypoint_regions(
                keypoints[~masked], labelled[~masked], (W, H),
                self.output_stride, self.radius)
        crowd_any = crowd > 0
        # the cells each person owns: at least half covered
        people = PeopleOnGrid(keypoints, labelled, coverage,
                              claimed_cells(coverage >= 0.5, crowd >= 0.5))

        encoded = dict()
        encoded.update(self._encode_disks(keypoints, labelled))
        untrained_area = (coverage[~trained] > 0).any(axis=0) if N else \
            np.zeros((H, W), dtype=bool)
        encoded['heatmap_weights'] = (~(crowd_any | untrained_area)).astype(
            np.float32)[None]
        encoded.update(self._encode_long_range(people))
        encoded['segmentation'] = np.clip(segmentation, 0., 1.)[None]
        encoded['segmentation_weights'] = (~crowd_any & masked.all()).astype(
            np.float32)[None]
        assert encoded['mid_offsets'].shape == (2 * E, H, W)
        encoded.update(self._encode_more(people, encoded))
        return encoded

    def _encode_more(self, people: PeopleOnGrid,
                     encoded: Dict[str, np.ndarray]
                     ) -> Dict[str, np.ndarray]:
        """Targets a subclass adds to PersonLab's (none here).

        Args:
            people (PeopleOnGrid): The people as :meth:`encode` prepared
                them.
            encoded (dict): PersonLab's targets of the image.
        """
        return {}

    def at_geometry(self, input_size: Tuple[int, int],
                    output_stride: int) -> 'PersonLabCodec':
        """A copy of this codec for another input size ``(w, h)`` and
        output stride (e.g. a test input's)."""
        other = copy.copy(self)
        other.input_size = (int(input_size[0]), int(input_size[1]))
        other.output_stride = int(output_stride)
        return other

    def grid_points(self) -> Tuple[np.ndarray, np.ndarray]:
        """Input-pixel coordinates of the output grid cells.

        Returns:
            tuple: ``xs`` (W,) and ``ys`` (H,) in input pixels.
        """
        W, H = self.heatmap_size
        s = self.output_stride
        return (np.arange(W, dtype=np.float32) * s,
                np.arange(H, dtype=np.float32) * s)

    def _encode_disks(self, keypoints: np.ndarray,
                      labelled: np.ndarray) -> Dict[str, np.ndarray]:
        """Heatmaps, short-range and mid-range targets from the disks."""
        W, H = self.heatmap_size
        K, E, s = self.num_keypoints, self.num_edges, self.output_stride
        HW = H * W
        heatmaps = np.zeros(K * HW, dtype=np.float32)
        short = np.zeros(K * 2 * HW, dtype=np.float32)
        mid = np.zeros(E * 2 * HW, dtype=np.float32)
        mid_w = np.zeros(E * HW, dtype=np.float32)

        k, iy, ix, person = disk_cells(keypoints, labelled, (W, H), s,
                                       self.radius)
        cell = iy * W + ix  # flat cell index
        cell_x = (ix * s).astype(np.float32)  # input pixels
        cell_y = (iy * s).astype(np.float32)
        heatmaps[k * HW + cell] = 1.
        # flat index of the x channel of (k, cell) in (K, 2, H, W); +HW: y
        at = k * (2 * HW) + cell
        short[at] = keypoints[person, k, 0] - cell_x
        short[at + HW] = keypoints[person, k, 1] - cell_y

        # every directed edge leaving keypoint k, for every disk cell of k
        out = self._out_edges[k]  # (Q, max out-degree), -1 padded
        q, j = np.nonzero(out >= 0)
        e = out[q, j]
        target = self.edge_targets[e]
        ok = labelled[person[q], target]
        q, e, target = q[ok], e[ok], target[ok]
        at = e * (2 * HW) + cell[q]
        ends = keypoints[person[q], target]  # (Q', 2)
        mid[at] = ends[:, 0] - cell_x[q]
        mid[at + HW] = ends[:, 1] - cell_y[q]
        mid_w[e * HW + cell[q]] = 1.

        heatmaps = heatmaps.reshape(K, H, W)
        return dict(
            heatmaps=heatmaps,
            short_offsets=short.reshape(2 * K, H, W),
            short_weights=heatmaps.copy(),
            mid_offsets=mid.reshape(2 * E, H, W),
            mid_weights=mid_w.reshape(E, H, W))

    def _encode_long_range(self, people: PeopleOnGrid
                           ) -> Dict[str, np.ndarray]:
        """Long-range targets at the cells people claim, weighted where one
        person owns the cell (:func:`~.ownership.claimed_cells`: the
        targets stay a complete perfect output up to mask borders). Only
        the claimed cells are computed, so the cost follows the people's
        area."""
        W, H = self.heatmap_size
        K, HW = self.num_keypoints, H * W
        long = np.zeros((K, 2, HW), dtype=np.float32)
        long_w = np.zeros((K, HW), dtype=np.float32)
        cells, owner, single = people.claimed
        keypoints = people.keypoints
        if cells.size:
            ok = people.labelled.T[:, owner]  # (K, P)
            xs, ys = self.grid_points()
            cell_xy = np.stack([xs[cells % W], ys[cells // W]])  # (2, P)
            # (K, 2, N) -> (K, 2, P): the owners' keypoints
            vec = np.ascontiguousarray(keypoints.transpose(1, 2, 0))[
                :, :, owner] - cell_xy
            long[:, :, cells] = np.where(ok[:, None], vec, 0.)
            long_w[:, cells] = ok & single
        return dict(
            long_offsets=long.reshape(2 * K, H, W),
            long_weights=long_w.reshape(K, H, W))

    # ---------------------------------------------------------------- decode
    def decode(self, encoded: DenseMaps) -> Tuple[np.ndarray, np.ndarray]:
        """People in the maps of one image (MMPose's codec contract: a
        batch of one, probabilities and offsets in input pixels) with the
        paper's settings; models decode through their head and ``test_cfg``.

        Returns:
            tuple: ``keypoints`` (N, K, 2) in input pixels and
            ``keypoint_scores`` (N, K), best person first.
        """
        from ..decoders import PersonLabDecoder
        from ..functional import input_size_of_grid
        people = PersonLabDecoder(self.keypoints, self.radius).decode(
            encoded, input_size_of_grid(encoded.grid_hw, encoded.stride))
        return (people['keypoints'].cpu().numpy(),
                people['keypoint_scores'].cpu().numpy())
