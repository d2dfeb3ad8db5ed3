"""Pure torch primitives shared by every method's decoding, refinement and
test-time fusion: no registries, no toolbox imports, one grid convention
(:mod:`.grid`), the same code on CPU and GPU.

Each stage works on data-dependent shapes eagerly and, with ``fixed=True``,
on fixed shapes for ``torch.compile`` (:mod:`.shapes`).
"""
from .assignment import assign_pixels, candidate_pixels, decide, near_cells
from .grid import (covering_grid_size, grid_size, input_affine_from_meta,
                   input_size_of_grid, is_axis_aligned)
from .grouping import (follow_tree, greedy_accept, greedy_select,
                       group_greedily, seed_conflicts, tree_traversals)
from .instances import mask_boxes, masks_to_numpy
from .nms import oks_hard_nms, oks_matrix
from .panoptic import (channel_argmax, class_histograms, instance_boxes,
                       instance_scores, majority_vote, nearest_centres,
                       panoptic_ids)
from .peaks import (Peaks, find_peaks, strongest, window_centroid, window_sum,
                    windows_at)
from .sampling import (bilinear_corners, gather_bilinear, gather_cells,
                       gather_corners, pixel_cells, resample_separable,
                       resample_to_image, sample_at_offsets, sample_bilinear,
                       sample_points, upsample_to_input)
from .sanitize import KINDS, offset_bound, sanitize_tensors
from .shapes import compact, compiled, select
from .voting import (snap_to_votes, splat_bilinear, vote_at_offsets,
                     voter_mean, window_cells)

__all__ = [
    'assign_pixels', 'candidate_pixels', 'decide', 'near_cells',
    'covering_grid_size', 'grid_size',
    'input_affine_from_meta', 'input_size_of_grid',
    'is_axis_aligned', 'mask_boxes', 'masks_to_numpy', 'follow_tree',
    'greedy_accept', 'greedy_select', 'group_greedily', 'seed_conflicts',
    'tree_traversals', 'oks_hard_nms', 'oks_matrix', 'Peaks', 'find_peaks',
    'strongest', 'window_centroid', 'window_sum', 'windows_at',
    'bilinear_corners', 'gather_bilinear', 'gather_corners',
    'resample_separable', 'sample_at_offsets', 'pixel_cells',
    'resample_to_image', 'upsample_to_input', 'sample_bilinear',
    'sample_points', 'KINDS', 'offset_bound', 'sanitize_tensors', 'compact',
    'compiled', 'select', 'gather_cells', 'snap_to_votes',
    'splat_bilinear', 'vote_at_offsets', 'voter_mean', 'window_cells',
    'channel_argmax', 'class_histograms', 'instance_boxes', 'instance_scores',
    'majority_vote', 'nearest_centres', 'panoptic_ids'
]
