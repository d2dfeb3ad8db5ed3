"""The COCO person kinematic tree used by PersonLab and its flip maps.

PersonLab groups keypoints by following mid-range offsets along the edges of
a tree over the 17 COCO keypoints (paper Fig. 1 and Sec. 3.1). The tree has
16 undirected edges; every edge is used in both directions, giving 32
directed edges ``(k, l)`` that carry one 2-D mid-range offset field each
(from the disk around keypoint ``k`` to keypoint ``l`` of the same person).

COCO keypoint order::

    0 nose       1 left_eye       2 right_eye     3 left_ear     4 right_ear
    5 l_shoulder 6 r_shoulder     7 l_elbow       8 r_elbow      9 l_wrist
    10 r_wrist   11 l_hip         12 r_hip        13 l_knee      14 r_knee
    15 l_ankle   16 r_ankle
"""
from typing import List, Sequence, Tuple

import numpy as np

#: The 16 undirected edges of the COCO kinematic tree used by PersonLab:
#: the face hangs off the nose, the nose connects to both shoulders, and the
#: limbs and hips hang off the shoulders.
COCO_TREE_EDGES: Tuple[Tuple[int, int], ...] = (
    (0, 1), (1, 3), (0, 2), (2, 4),  # face
    (0, 5), (0, 6),  # nose -> shoulders
    (5, 7), (7, 9), (6, 8), (8, 10),  # arms
    (5, 11), (11, 13), (13, 15),  # left side
    (6, 12), (12, 14), (14, 16),  # right side
)

#: Index of each COCO keypoint's left/right mirror.
COCO_FLIP_INDICES: Tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12,
                                      11, 14, 13, 16, 15)

#: Per-keypoint OKS falloff constants (COCO ``sigmas``), used by Expected-OKS.
COCO_SIGMAS: Tuple[float, ...] = (0.026, 0.025, 0.025, 0.035, 0.035, 0.079,
                                  0.079, 0.072, 0.072, 0.062, 0.062, 0.107,
                                  0.107, 0.087, 0.087, 0.089, 0.089)


#: An upright, front-facing person in its unit bounding box (x right, y
#: down; the person's left on the image's right), used to impute the
#: keypoints of people annotated with a mask only (paper Sec. 3.3 imputes
#: them with a pose estimator; this is the geometric stand-in).
COCO_IMPUTATION_TEMPLATE: Tuple[Tuple[float, float], ...] = (
    (0.50, 0.08), (0.56, 0.05), (0.44, 0.05), (0.62, 0.07), (0.38, 0.07),
    (0.72, 0.20), (0.28, 0.20), (0.82, 0.37), (0.18, 0.37), (0.86, 0.52),
    (0.14, 0.52), (0.64, 0.52), (0.36, 0.52), (0.64, 0.75), (0.36, 0.75),
    (0.64, 0.96), (0.36, 0.96))


def directed_edges(
        tree_edges: Sequence[Sequence[int]]) -> List[Tuple[int, int]]:
    """Both directions of every tree edge.

    The first ``len(tree_edges)`` entries are the edges as given, the next
    ones the same edges reversed, so directed edge ``e`` and
    ``(e + E/2) % E`` are each other's reverse.

    Args:
        tree_edges (Sequence[Sequence[int]]): Undirected edges ``(k, l)``.

    Returns:
        List[Tuple[int, int]]: ``2 * len(tree_edges)`` directed edges.
    """
    forward = [(int(src), int(dst)) for src, dst in tree_edges]
    return forward + [(dst, src) for src, dst in forward]


def validate_tree(tree_edges: Sequence[Sequence[int]],
                  num_keypoints: int) -> None:
    """Check that ``tree_edges`` form a spanning tree over the keypoints.

    Greedy decoding reaches every keypoint from any seed only along a
    spanning tree, so anything else is a configuration error.

    Raises:
        ValueError: naming the offending edge or the unreachable keypoints.
    """
    if len(tree_edges) != num_keypoints - 1:
        raise ValueError(
            f'a kinematic tree over {num_keypoints} keypoints needs '
            f'{num_keypoints - 1} edges, got {len(tree_edges)}')
    parent = list(range(num_keypoints))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for src, dst in tree_edges:
        if not (0 <= src < num_keypoints and 0 <= dst < num_keypoints) or \
                src == dst:
            raise ValueError(f'invalid kinematic tree edge ({src}, {dst}) '
                             f'for {num_keypoints} keypoints')
        root_src, root_dst = find(src), find(dst)
        if root_src == root_dst:
            raise ValueError(
                f'kinematic tree edge ({src}, {dst}) closes a cycle')
        parent[root_src] = root_dst


def flip_edge_indices(edges: Sequence[Tuple[int, int]],
                      flip_indices: Sequence[int]) -> List[int]:
    """Permutation of directed edges under a horizontal flip.

    After a left/right flip, the offset field of directed edge ``(k, l)``
    becomes the field of edge ``(flip[k], flip[l])``.

    Args:
        edges (Sequence[Tuple[int, int]]): Directed edges.
        flip_indices (Sequence[int]): Mirror index of each keypoint.

    Returns:
        List[int]: ``perm`` with ``perm[e]`` the index of the mirrored edge.

    Raises:
        ValueError: if the edge set is not closed under the flip.
    """
    lookup = {tuple(e): i for i, e in enumerate(edges)}
    perm = []
    for src, dst in edges:
        mirrored = (int(flip_indices[src]), int(flip_indices[dst]))
        if mirrored not in lookup:
            raise ValueError(
                f'edge {(src, dst)} mirrors to {mirrored}, which is not an '
                'edge: the kinematic tree must be left/right symmetric')
        perm.append(lookup[mirrored])
    return perm


def edge_arrays(edges: Sequence[Tuple[int, int]]) -> Tuple[np.ndarray,
                                                           np.ndarray]:
    """Source and target keypoint indices of directed edges as int arrays."""
    arr = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0].copy(), arr[:, 1].copy()
