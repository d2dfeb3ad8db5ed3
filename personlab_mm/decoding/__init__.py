"""PersonLab decoding as small torch functions (CPU or GPU, unchanged)."""
from .decoder import PersonLabDecoder, PersonLabMaps
from .grouping import follow_tree, greedy_select, tree_traversals
from .hough import find_peaks, hough_grid_size, hough_voting, local_mass
from .masks import assign_masks
from .sampling import bilinear_gather
from .scoring import (expected_oks_scores, hough_keypoint_scores,
                      instance_scales, oks_hard_nms, oks_matrix,
                      sample_keypoint_maps, soft_nms)

__all__ = [
    'PersonLabDecoder', 'PersonLabMaps', 'follow_tree', 'greedy_select',
    'tree_traversals', 'find_peaks', 'hough_grid_size', 'hough_voting',
    'local_mass', 'assign_masks', 'bilinear_gather', 'expected_oks_scores',
    'hough_keypoint_scores', 'instance_scales', 'oks_hard_nms', 'oks_matrix',
    'sample_keypoint_maps', 'soft_nms'
]
