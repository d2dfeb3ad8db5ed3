"""The dense maps each method's decoder reads and how test-time
augmentation treats them (:class:`~personlab_mm.structures.FieldSpec`)."""
from typing import Dict, Tuple

from ..structures import FieldSpec, KeypointSet

#: The maps PersonLab decodes, in the order of the paper.
PERSONLAB_FIELDS = ('heatmaps', 'short_offsets', 'mid_offsets',
                    'long_offsets', 'segmentation')


def personlab_map_specs(keypoints: KeypointSet,
                        logits: bool = False) -> Dict[str, FieldSpec]:
    """The :class:`~personlab_mm.structures.FieldSpec` of each PersonLab
    map: heatmaps (K) and segmentation (1) are probabilities (``logits``:
    the network's raw outputs); short- and long-range offsets (K) and
    mid-range offsets (E directed edges) are fused weighted by the heatmap
    of their source keypoint or by the segmentation. Under a flip, left and
    right keypoints and mirrored edges swap (an asymmetric tree cannot be
    flipped: ``flip_channels=()``)."""
    prob = 'logits' if logits else 'probability'
    kpt = tuple(keypoints.flip_indices)
    try:
        edge: Tuple[int, ...] = tuple(keypoints.flip_edge_indices)
    except ValueError:
        edge = ()
    return dict(
        heatmaps=FieldSpec(prob, kpt),
        short_offsets=FieldSpec('offset', kpt, 'heatmaps'),
        mid_offsets=FieldSpec('offset', edge, 'heatmaps',
                              tuple(int(k) for k in keypoints.edge_sources)),
        long_offsets=FieldSpec('offset', kpt, 'segmentation'),
        segmentation=FieldSpec(prob))


#: PersonLab's maps plus the body heat map and the mask offsets.
POSEPLUSSEG_FIELDS = PERSONLAB_FIELDS + ('body_heatmap', 'mask_offsets')


def poseplusseg_map_specs(keypoints: KeypointSet,
                          logits: bool = False) -> Dict[str, FieldSpec]:
    """PersonLab's specs (:func:`personlab_map_specs`) plus PosePlusSeg's
    body heat map (B, 1, H, W), a probability (``logits``: raw), and mask
    offsets (B, 1, 2, H, W), fused weighted by the segmentation (their x is
    negated under a flip like every offset)."""
    specs = personlab_map_specs(keypoints, logits)
    specs.update(
        body_heatmap=FieldSpec('logits' if logits else 'probability'),
        mask_offsets=FieldSpec('offset', None, 'segmentation'))
    return specs
