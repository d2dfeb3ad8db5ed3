"""PosePlusSeg label codec: PersonLab's targets plus the body heat map and
the mask offsets."""
from typing import Dict, Optional, Tuple

import numpy as np
from mmpose.registry import KEYPOINT_CODECS

from .disks import disk_counts
from .ownership import PeopleOnGrid
from .personlab import PersonLabCodec

#: ``centroid`` value for the mean position of a person's mask (Eq. 2).
MASK_MEAN = 'mask_mean'


@KEYPOINT_CODECS.register_module()
class PosePlusSegCodec(PersonLabCodec):
    r"""Encode people into PosePlusSeg's dense targets.

    See PosePlusSeg (Ahmad et al., "Joint Human Pose Estimation and Instance
    Segmentation with PosePlusSeg", AAAI 2022). It keeps PersonLab's keypoint
    disks, called the strong keypoint heat map (SKHM, the ``heatmaps``, radius
    R = 32 input pixels), and the short- and mid-range offsets its greedy pose
    generator follows; all of :class:`PersonLabCodec`'s targets are encoded
    unchanged (the long-range offsets serve the shared pose generator's
    fallback for keypoints that are not there; PosePlusSeg's masks do not use
    them). It adds:

    - **Body heat map** (BHM, Eq. 1). The paper sums, per person, its
      keypoint disks scaled by :math:`\alpha = 0.4`
      (:math:`I = \sum_k P_k(\alpha)`), dimming everything outside them.
      Read here as: person ``j``'s map at cell ``x`` is
      :math:`\min(1, \alpha\, n_j(x))` with :math:`n_j(x)` the number of
      ``j``'s labelled keypoint disks containing ``x`` (one disk: 0.4, two:
      0.8, three or more: 1, so the torso, where many disks overlap, is
      brightest), and the image's BHM is the maximum over people (one
      person's disks do not brighten another's body). Soft targets in
      [0, 1], trained where the SKHM is (``body_heatmap_weights`` =
      ``heatmap_weights``: not on crowds or on people with too few
      keypoints).
    - **Mask offsets** (MO, Eq. 2-3): at each cell of a person's mask, the
      vector :math:`C_j - x` to the person's centroid, in input pixels.
      The paper defines the centroid as the mean position of the mask's
      pixels (Eq. 2) but draws a keypoint, the right shoulder, as the
      centre of attraction (its Fig. 5a); ``centroid`` chooses:
      ``'mask_mean'`` (the coverage-weighted mean of the person's cells;
      the default, defined for any keypoint set) or a keypoint name such as
      ``'right_shoulder'`` (what the PosePlusSeg configs use: the higher
      decoding upper bound). Ownership
      and weights are the long-range offsets' (trained at cells one person
      owns, outside crowds; cells shared by people and a one-cell ring
      around each person carry the smallest person's offsets with weight 0
      so that perfect outputs reach the mask borders). With a keypoint
      centroid, a person whose centroid keypoint is not labelled gets
      offsets to its mask mean with weight 0 (not trained: where its
      keypoint would be is unknown). A person without labelled keypoints
      (COCO's small unannotated people, unless ``GeneratePersonLabTargets``
      imputes them) gets trained mask-mean offsets: its pixels learn to
      point at its own centre, away from the decoded people. A person
      without a mask (keypoint-only data) has the union of its keypoint
      disks as its region, as for the long-range offsets.

    Encoded, in addition to :class:`PersonLabCodec`'s:

        - body_heatmap (np.ndarray): (1, H, W) in [0, 1]
        - body_heatmap_weights (np.ndarray): (1, H, W)
        - mask_offsets (np.ndarray): (2, H, W), channels ``(x, y)``
        - mask_offset_weights (np.ndarray): (1, H, W)

    Args:
        body_alpha (float): :math:`\alpha` of Eq. 1. Defaults to 0.4.
        centroid (str): ``'mask_mean'`` or a keypoint name of the
            metainfo. Defaults to ``'mask_mean'``.
        **kwargs: :class:`PersonLabCodec`'s arguments (``input_size``,
            ``output_stride``, ``radius``, ``metainfo``, ``tree_edges``,
            ``min_keypoints``).
    """

    field_mapping_table = dict(
        PersonLabCodec.field_mapping_table,
        body_heatmap='body_heatmap',
        body_heatmap_weights='body_heatmap_weights',
        mask_offsets='mask_offsets',
        mask_offset_weights='mask_offset_weights',
    )

    def __init__(self,
                 body_alpha: float = 0.4,
                 centroid: str = MASK_MEAN,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0 < body_alpha <= 1:
            raise ValueError(f'body_alpha must be in (0, 1], got {body_alpha}')
        self.body_alpha = float(body_alpha)
        self.centroid = str(centroid)
        self.centroid_index: Optional[int] = None
        if self.centroid != MASK_MEAN:
            if self.centroid not in self.keypoints.names:
                raise ValueError(
                    f"centroid must be '{MASK_MEAN}' or a keypoint name of "
                    f'{self.keypoints.dataset_name or "the keypoint set"} '
                    f'({", ".join(self.keypoints.names)}), got '
                    f'{self.centroid!r}')
            self.centroid_index = self.keypoints.names.index(self.centroid)

    def _encode_more(self, people: PeopleOnGrid,
                     encoded: Dict[str, np.ndarray]
                     ) -> Dict[str, np.ndarray]:
        """The body heat map and the mask offsets (class docstring)."""
        W, H = self.heatmap_size
        counts = disk_counts(people.keypoints, people.labelled, (W, H),
                             self.output_stride, self.radius)
        body = np.minimum(1., self.body_alpha * counts)
        body = body.max(axis=0) if len(body) else np.zeros((H, W),
                                                           np.float32)
        offsets, weights = self._mask_offsets(people)
        return dict(
            body_heatmap=body.astype(np.float32)[None],
            body_heatmap_weights=encoded['heatmap_weights'].copy(),
            mask_offsets=offsets,
            mask_offset_weights=weights)

    def centroids(self, people: PeopleOnGrid) -> Tuple[np.ndarray,
                                                       np.ndarray]:
        """Each person's centroid and whether its offsets are trained.

        Returns:
            tuple: (N, 2) centroids in input pixels (NaN for a person
            without any cell) and (N,) bool.
        """
        xs, ys = self.grid_points()
        mass = people.coverage.sum(axis=(1, 2))  # (N,)
        with np.errstate(invalid='ignore', divide='ignore'):
            mean = np.stack([
                (people.coverage * xs[None, None]).sum(axis=(1, 2)) / mass,
                (people.coverage * ys[None, :, None]).sum(axis=(1, 2)) / mass
            ], axis=1).astype(np.float32)
        if self.centroid_index is None:
            return mean, np.ones(len(mean), dtype=bool)
        c = self.centroid_index
        known = people.labelled[:, c]
        return np.where(known[:, None], people.keypoints[:, c], mean), known

    def _mask_offsets(self, people: PeopleOnGrid
                      ) -> Tuple[np.ndarray, np.ndarray]:
        """(2, H, W) offsets to the owner's centroid and (1, H, W)
        weights."""
        W, H = self.heatmap_size
        offsets = np.zeros((2, H * W), dtype=np.float32)
        weights = np.zeros(H * W, dtype=np.float32)
        cells, owner, single = people.claimed
        if cells.size:
            centroid, trained = self.centroids(people)
            xs, ys = self.grid_points()
            target = centroid[owner]  # (P, 2)
            offsets[0, cells] = target[:, 0] - xs[cells % W]
            offsets[1, cells] = target[:, 1] - ys[cells // W]
            weights[cells] = single & trained[owner]
        return offsets.reshape(2, H, W), weights.reshape(1, H, W)
