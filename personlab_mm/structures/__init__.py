"""Structures shared by the methods: keypoint sets with their kinematic
trees, and the named dense-map container."""
from .dense_maps import DenseMaps, FieldSpec
from .skeleton import (IMPUTATION_TEMPLATE, NAMED_TREES, PERSONLAB_COCO_TREE,
                       KeypointSet, directed_edges, parse_metainfo,
                       resolve_metainfo_file, spanning_tree, validate_tree)

__all__ = [
    'DenseMaps', 'FieldSpec', 'IMPUTATION_TEMPLATE', 'NAMED_TREES',
    'PERSONLAB_COCO_TREE', 'KeypointSet', 'directed_edges', 'parse_metainfo',
    'resolve_metainfo_file', 'spanning_tree', 'validate_tree'
]
