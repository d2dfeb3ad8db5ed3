"""PersonLab decoding as small torch functions (CPU or GPU, unchanged)."""
from .decoder import PersonLabDecoder, PersonLabMaps, Stopwatch
from .grouping import (follow_tree, greedy_accept, greedy_select,
                       group_greedily, group_seeds, seed_conflicts,
                       tree_traversals)
from .hough import (find_peaks, find_peaks_dense, hough_grid_size,
                    hough_voting, hough_voting_dense, local_mass)
from .masks import assign_masks, assign_masks_dense
from .sampling import bilinear_gather
from .sanitize import sanitize_maps
from .scoring import (expected_oks_scores, hough_keypoint_scores,
                      instance_scales, oks_hard_nms, oks_matrix,
                      sample_keypoint_maps, score_candidates, soft_nms)

__all__ = [
    'PersonLabDecoder', 'PersonLabMaps', 'follow_tree', 'greedy_select',
    'tree_traversals', 'find_peaks', 'hough_grid_size', 'hough_voting',
    'local_mass', 'assign_masks', 'bilinear_gather', 'expected_oks_scores',
    'hough_keypoint_scores', 'instance_scales', 'oks_hard_nms', 'oks_matrix',
    'sample_keypoint_maps', 'soft_nms', 'sanitize_maps', 'greedy_accept',
    'group_seeds', 'seed_conflicts', 'find_peaks_dense', 'hough_voting_dense',
    'assign_masks_dense', 'score_candidates', 'Stopwatch', 'group_greedily'
]
