from .skeleton import (COCO_FLIP_INDICES, COCO_IMPUTATION_TEMPLATE,
                       COCO_SIGMAS, COCO_TREE_EDGES, directed_edges,
                       edge_arrays, flip_edge_indices, validate_tree)

__all__ = [
    'COCO_TREE_EDGES', 'COCO_FLIP_INDICES', 'COCO_IMPUTATION_TEMPLATE',
    'COCO_SIGMAS', 'directed_edges',
    'edge_arrays', 'flip_edge_indices', 'validate_tree'
]
