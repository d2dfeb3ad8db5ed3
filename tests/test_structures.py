import pytest

from personlab_mm.structures import (COCO_FLIP_INDICES, COCO_TREE_EDGES,
                                     directed_edges, flip_edge_indices,
                                     validate_tree)


def test_coco_tree_is_a_spanning_tree_with_32_directed_edges():
    validate_tree(COCO_TREE_EDGES, 17)
    edges = directed_edges(COCO_TREE_EDGES)
    assert len(COCO_TREE_EDGES) == 16
    assert len(edges) == 32 and len(set(edges)) == 32
    for e in range(16):
        src, dst = edges[e]
        assert edges[e + 16] == (dst, src)


def test_flip_maps_each_edge_to_its_mirror():
    edges = directed_edges(COCO_TREE_EDGES)
    perm = flip_edge_indices(edges, COCO_FLIP_INDICES)
    assert sorted(perm) == list(range(32))
    for e, m in enumerate(perm):
        src, dst = edges[e]
        assert edges[m] == (COCO_FLIP_INDICES[src], COCO_FLIP_INDICES[dst])
        assert perm[m] == e  # an involution
    # left elbow -> left wrist mirrors to right elbow -> right wrist
    assert edges[perm[edges.index((7, 9))]] == (8, 10)


@pytest.mark.parametrize('edges,msg', [
    ([(0, 1)] * 16, 'cycle'),
    (list(COCO_TREE_EDGES[:-1]), '16 edges'),
    (list(COCO_TREE_EDGES[:-1]) + [(3, 3)], 'invalid'),
])
def test_validate_tree_rejects_non_trees(edges, msg):
    with pytest.raises(ValueError, match=msg):
        validate_tree(edges, 17)


def test_asymmetric_tree_cannot_be_flipped():
    edges = directed_edges([(0, 1), (1, 2)])
    with pytest.raises(ValueError, match='symmetric'):
        flip_edge_indices(edges, [0, 2, 1])
