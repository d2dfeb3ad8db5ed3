"""Decoders: one per method, composing :mod:`personlab_mm.functional`
(the methods' equations live here)."""
from .personlab import PERSONLAB_FIELDS, PersonLabDecoder, personlab_map_specs
from .personlab_keypoints import (expected_oks_scores, hough_keypoint_scores,
                                  hough_maps, instance_scales, keypoint_seeds,
                                  keypoint_soft_nms, keypoint_terms,
                                  local_mass, ranked_people,
                                  sample_keypoint_maps, soft_nms_ranking)
from .personlab_masks import (cell_distances, embedding_distances,
                              person_masks, person_terms)

__all__ = [
    'PERSONLAB_FIELDS', 'PersonLabDecoder', 'hough_maps', 'keypoint_seeds',
    'personlab_map_specs', 'cell_distances', 'embedding_distances',
    'person_masks', 'person_terms', 'expected_oks_scores',
    'hough_keypoint_scores', 'instance_scales', 'keypoint_soft_nms',
    'keypoint_terms', 'local_mass', 'ranked_people', 'sample_keypoint_maps',
    'soft_nms_ranking'
]
