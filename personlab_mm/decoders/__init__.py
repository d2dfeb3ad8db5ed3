"""Decoders: one per method, composing :mod:`personlab_mm.functional`
(the methods' equations live here)."""
from .map_specs import (PERSONLAB_FIELDS, POSEPLUSSEG_FIELDS,
                        personlab_map_specs, poseplusseg_map_specs)
from .panonet import PanoNetDecoder
from .panoptic_deeplab import PanopticDeepLabDecoder
from .panoptic_result import PanopticResult, assemble_result
from .personlab import PersonLabDecoder
from .personlab_keypoints import (expected_oks_scores, hough_keypoint_scores,
                                  hough_maps, instance_scales, keypoint_seeds,
                                  keypoint_soft_nms, keypoint_terms,
                                  local_mass, ranked_people,
                                  sample_keypoint_maps, soft_nms_ranking)
from .personlab_masks import (cell_distances, embedding_distances,
                              person_masks, person_terms)
from .poseplusseg import PosePlusSegDecoder, body_boosted_scores
from .poseplusseg_masks import (centroid_cell_distances,
                                exclusive_person_masks, person_centroids,
                                shared_centroids, weighted_median)

__all__ = [
    'PERSONLAB_FIELDS', 'PersonLabDecoder', 'hough_maps', 'keypoint_seeds',
    'personlab_map_specs', 'cell_distances', 'embedding_distances',
    'person_masks', 'person_terms', 'expected_oks_scores',
    'hough_keypoint_scores', 'instance_scales', 'keypoint_soft_nms',
    'keypoint_terms', 'local_mass', 'ranked_people', 'sample_keypoint_maps',
    'soft_nms_ranking', 'POSEPLUSSEG_FIELDS', 'poseplusseg_map_specs',
    'PosePlusSegDecoder', 'body_boosted_scores', 'centroid_cell_distances',
    'exclusive_person_masks', 'person_centroids', 'shared_centroids',
    'weighted_median', 'PanopticDeepLabDecoder', 'PanopticResult',
    'PanoNetDecoder', 'assemble_result'
]
