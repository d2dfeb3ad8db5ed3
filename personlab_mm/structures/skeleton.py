"""Keypoint sets from MMPose dataset metainfo, and the kinematic trees that
bottom-up pose decoding follows.

PersonLab groups keypoints by following mid-range offsets along the edges
of a tree over the keypoints (paper Fig. 1, Sec. 3.1). Every undirected
tree edge is used in both directions: edge ``e < E / 2`` as given, edge
``e + E / 2`` reversed, each carrying one 2-D offset field.

The keypoint set (names, left/right mirror, OKS sigmas, skeleton links)
comes from the dataset's metainfo, as MMPose defines it
(``configs/_base_/datasets/*.py``). The tree is either given explicitly
(a list of edges, or the name of one of :data:`NAMED_TREES`) or derived
from the metainfo's ``skeleton_links`` by :func:`spanning_tree`.
"""
from functools import cached_property
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

Edge = Tuple[int, int]

#: PersonLab's tree over COCO's 17 keypoints (16 edges): the face hangs off
#: the nose, the nose connects to both shoulders, limbs and hips hang off
#: the shoulders. COCO order: 0 nose, 1-2 eyes, 3-4 ears, 5-6 shoulders,
#: 7-8 elbows, 9-10 wrists, 11-12 hips, 13-14 knees, 15-16 ankles (left
#: first).
PERSONLAB_COCO_TREE: Tuple[Edge, ...] = (
    (0, 1), (1, 3), (0, 2), (2, 4),  # face
    (0, 5), (0, 6),  # nose -> shoulders
    (5, 7), (7, 9), (6, 8), (8, 10),  # arms
    (5, 11), (11, 13), (13, 15),  # left side
    (6, 12), (12, 14), (14, 16),  # right side
)

#: Trees a config can name (``tree_edges='personlab_coco'``).
NAMED_TREES: Dict[str, Tuple[Edge, ...]] = dict(
    personlab_coco=PERSONLAB_COCO_TREE)

#: An upright, front-facing person in its unit bounding box (x right, y
#: down; the person's left on the image's right), by keypoint name; used to
#: impute the keypoints of people annotated with a mask only (paper
#: Sec. 3.3 imputes them with a pose estimator; this is the geometric
#: stand-in).
IMPUTATION_TEMPLATE: Dict[str, Tuple[float, float]] = dict(
    nose=(0.50, 0.08), left_eye=(0.56, 0.05), right_eye=(0.44, 0.05),
    left_ear=(0.62, 0.07), right_ear=(0.38, 0.07),
    left_shoulder=(0.72, 0.20), right_shoulder=(0.28, 0.20),
    left_elbow=(0.82, 0.37), right_elbow=(0.18, 0.37),
    left_wrist=(0.86, 0.52), right_wrist=(0.14, 0.52),
    left_hip=(0.64, 0.52), right_hip=(0.36, 0.52),
    left_knee=(0.64, 0.75), right_knee=(0.36, 0.75),
    left_ankle=(0.64, 0.96), right_ankle=(0.36, 0.96),
    # CrowdPose's extra keypoints
    top_head=(0.50, 0.00), neck=(0.50, 0.17))


def directed_edges(tree_edges: Sequence[Sequence[int]]) -> List[Edge]:
    """Both directions of every tree edge: the edges as given, then the
    same edges reversed (edge ``e`` and ``(e + E/2) % E`` are each other's
    reverse)."""
    forward = [(int(src), int(dst)) for src, dst in tree_edges]
    return forward + [(dst, src) for src, dst in forward]


def validate_tree(tree_edges: Sequence[Sequence[int]],
                  num_keypoints: int) -> None:
    """Check that ``tree_edges`` form a spanning tree over the keypoints
    (greedy decoding reaches every keypoint from any seed only along one).

    Raises:
        ValueError: naming the offending edge or the edge count.
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


def spanning_tree(num_keypoints: int, links: Sequence[Sequence[int]],
                  flip_indices: Sequence[int],
                  names: Optional[Sequence[str]] = None) -> List[Edge]:
    """The kinematic tree derived from a skeleton's links.

    Rule: breadth-first search over the links from the root, the keypoint
    that is its own mirror with the most links (lowest index on ties;
    keypoint 0 if none is its own mirror), visiting neighbours in index
    order; whenever an edge ``(p, c)`` joins the tree its mirror
    ``(flip[p], flip[c])`` joins with it if ``flip[c]`` is not reached yet,
    so the tree is left/right symmetric whenever the skeleton allows it
    (flip testing needs that). Every edge is a skeleton link, so the tree
    follows the body.

    Args:
        num_keypoints (int): K.
        links (Sequence[Sequence[int]]): Undirected skeleton links.
        flip_indices (Sequence[int]): Mirror of each keypoint.
        names (Sequence[str], optional): Keypoint names, for errors.

    Returns:
        List[Tuple[int, int]]: ``K - 1`` edges ``(parent, child)``.

    Raises:
        ValueError: if the links do not connect every keypoint.
    """
    K = num_keypoints
    neighbours = [set() for _ in range(K)]
    for a, b in links:
        if a != b:
            neighbours[int(a)].add(int(b))
            neighbours[int(b)].add(int(a))
    own = [k for k in range(K) if int(flip_indices[k]) == k]
    root = max(own, key=lambda k: (len(neighbours[k]), -k)) if own else 0
    seen, frontier, edges = {root}, [root], []
    while frontier:
        nxt = []
        for p in frontier:
            for c in sorted(neighbours[p]):
                if c in seen:
                    continue
                for a, b in ((p, c), (int(flip_indices[p]),
                                      int(flip_indices[c]))):
                    if b not in seen and b in neighbours[a]:
                        seen.add(b)
                        edges.append((a, b))
                        nxt.append(b)
        frontier = nxt
    missing = [k for k in range(K) if k not in seen]
    if missing:
        label = [names[k] if names else str(k) for k in missing]
        raise ValueError(
            f'the skeleton links do not connect keypoints {label} to the '
            'others: give the kinematic tree explicitly (tree_edges)')
    return edges


class KeypointSet:
    """A dataset's keypoints and the kinematic tree decoding follows.

    Args:
        names (Sequence[str]): Keypoint names, in order.
        flip_indices (Sequence[int]): Left/right mirror of each keypoint.
        sigmas (Sequence[float]): OKS sigmas (``kappa = 2 * sigma``).
        tree_edges (Sequence[Tuple[int, int]]): Undirected spanning tree.
        dataset_name (str): For messages.
    """

    def __init__(self, names: Sequence[str], flip_indices: Sequence[int],
                 sigmas: Sequence[float], tree_edges: Sequence[Sequence[int]],
                 dataset_name: str = '') -> None:
        K = len(names)
        if len(flip_indices) != K or len(sigmas) != K:
            raise ValueError(
                f'{dataset_name or "keypoint set"}: {K} keypoint names but '
                f'{len(flip_indices)} flip indices and {len(sigmas)} sigmas')
        validate_tree(tree_edges, K)
        self.names = tuple(str(n) for n in names)
        self.flip_indices = tuple(int(i) for i in flip_indices)
        self.sigmas = tuple(float(s) for s in sigmas)
        self.tree_edges = tuple((int(a), int(b)) for a, b in tree_edges)
        self.dataset_name = dataset_name
        self.edges = directed_edges(self.tree_edges)
        arr = np.asarray(self.edges, dtype=np.int64).reshape(-1, 2)
        self.edge_sources = arr[:, 0].copy()
        self.edge_targets = arr[:, 1].copy()

    @classmethod
    def from_metainfo(cls,
                      metainfo: Union[str, Mapping, 'KeypointSet'],
                      tree_edges: Union[None, str, Sequence[Sequence[int]]]
                      = None) -> 'KeypointSet':
        """Build from MMPose metainfo.

        Args:
            metainfo (str | Mapping | KeypointSet): ``dict(from_file=...)``
                (a ``configs/_base_/datasets/*.py`` file; MMPose's own
                names such as ``'configs/_base_/datasets/coco.py'`` resolve
                inside the installed package), its path as a string, a raw
                ``dataset_info`` dict, or metainfo already parsed by
                ``mmpose.datasets.datasets.utils.parse_pose_metainfo``; a
                :class:`KeypointSet` is returned as it is.
            tree_edges (str | Sequence, optional): The tree: edges, the
                name of one of :data:`NAMED_TREES`, or None to derive it
                from the skeleton links (:func:`spanning_tree`).
        """
        if isinstance(metainfo, KeypointSet):
            if tree_edges is not None:
                raise ValueError('tree_edges cannot be given with a '
                                 'KeypointSet (it has its tree)')
            return metainfo
        parsed = parse_metainfo(metainfo)
        K = int(parsed['num_keypoints'])
        names = [parsed['keypoint_id2name'][k] for k in range(K)]
        flip = list(parsed['flip_indices'])
        if tree_edges is None:
            try:
                tree_edges = spanning_tree(K, parsed['skeleton_links'], flip,
                                           names)
            except ValueError as e:
                source = metainfo if isinstance(metainfo, str) else dict(
                    metainfo).get('from_file', 'metainfo')
                raise ValueError(f"{source} ({parsed.get('dataset_name')}): "
                                 f'{e}') from e
        elif isinstance(tree_edges, str):
            if tree_edges not in NAMED_TREES:
                raise ValueError(f'unknown tree {tree_edges!r}; named trees: '
                                 f'{sorted(NAMED_TREES)}')
            tree_edges = NAMED_TREES[tree_edges]
        return cls(names, flip, [float(s) for s in parsed['sigmas']],
                   tree_edges, str(parsed.get('dataset_name') or ''))

    @property
    def num_keypoints(self) -> int:
        """K."""
        return len(self.names)

    @property
    def num_edges(self) -> int:
        """E, the number of directed edges (``2 * (K - 1)``)."""
        return len(self.edges)

    @property
    def kappas(self) -> Tuple[float, ...]:
        """OKS falloff per keypoint: COCO's OKS is ``exp(-d^2 / (2 s^2
        kappa^2))`` with ``kappa = 2 * sigma``."""
        return tuple(2. * s for s in self.sigmas)

    @cached_property
    def flip_edge_indices(self) -> List[int]:
        """``perm[e]``: the directed edge that ``e`` becomes under a
        horizontal flip, ``(flip[k], flip[l])`` for ``(k, l)``.

        Raises:
            ValueError: if the tree is not left/right symmetric.
        """
        lookup = {e: i for i, e in enumerate(self.edges)}
        perm = []
        for src, dst in self.edges:
            mirrored = (self.flip_indices[src], self.flip_indices[dst])
            if mirrored not in lookup:
                raise ValueError(
                    f'edge {(src, dst)} mirrors to {mirrored}, which is not '
                    'an edge: flipping needs a left/right symmetric tree')
            perm.append(lookup[mirrored])
        return perm

    def imputation_template(self) -> np.ndarray:
        """(K, 2) upright template in a unit box
        (:data:`IMPUTATION_TEMPLATE`).

        Raises:
            ValueError: naming the keypoints it has no position for.
        """
        missing = [n for n in self.names if n not in IMPUTATION_TEMPLATE]
        if missing:
            raise ValueError(
                f'no imputation template position for keypoints {missing} '
                f'of {self.dataset_name or "this keypoint set"}')
        return np.asarray([IMPUTATION_TEMPLATE[n] for n in self.names],
                          dtype=np.float32)

    def __repr__(self) -> str:
        return (f'KeypointSet({self.dataset_name!r}, K={self.num_keypoints}'
                f', tree={list(self.tree_edges)})')


#: The fields of an MMPose ``dataset_info``.
METAINFO_FIELDS = ('dataset_name', 'keypoint_info', 'skeleton_info',
                   'joint_weights', 'sigmas')


def resolve_metainfo_file(path: str) -> str:
    """A metainfo file by path, or inside the installed mmpose:
    ``'mmpose::_base_/datasets/crowdpose.py'`` or MMPose's own spelling
    ``'configs/_base_/datasets/crowdpose.py'``.

    Raises:
        FileNotFoundError: naming the places looked at.
    """
    import os.path as osp

    import mmpose
    if osp.isfile(path):
        return path
    root = osp.join(osp.dirname(mmpose.__file__), '.mim')
    rel = path.split('::', 1)[1] if path.startswith('mmpose::') else path
    tried = [osp.join(root, 'configs', rel), osp.join(root, rel)]
    for candidate in tried:
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(f'metainfo file {path!r} not found (also looked '
                            f'at {tried})')


def parse_metainfo(metainfo: Union[str, Mapping]) -> dict:
    """MMPose's parsed metainfo from any of the forms
    :meth:`KeypointSet.from_metainfo` takes."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    if isinstance(metainfo, str):
        metainfo = dict(from_file=metainfo)
    if not isinstance(metainfo, Mapping):
        raise TypeError('metainfo must be a dict or a file path, got '
                        f'{type(metainfo).__name__}')
    if 'num_keypoints' in metainfo and 'keypoint_id2name' in metainfo:
        return dict(metainfo)
    where = 'metainfo'
    if 'from_file' in metainfo:
        from mmengine.config import Config
        where = resolve_metainfo_file(metainfo['from_file'])
        metainfo = Config.fromfile(where).get('dataset_info')
        if metainfo is None:
            raise ValueError(f'{where}: no dataset_info (an MMPose dataset '
                             'metainfo file defines dataset_info = dict(...))')
    missing = [k for k in METAINFO_FIELDS if k not in metainfo]
    if missing:
        raise ValueError(
            f'{where}: dataset_info lacks {missing}; MMPose dataset metainfo '
            f'needs {list(METAINFO_FIELDS)} (sigmas: the per-keypoint OKS '
            'sigmas that score and evaluate keypoints)')
    parsed = parse_pose_metainfo(dict(metainfo))
    K = int(parsed['num_keypoints'])
    sigmas = np.asarray(parsed['sigmas'], dtype=np.float64)
    if sigmas.shape != (K,) or not (np.isfinite(sigmas).all()
                                    and (sigmas > 0).all()):
        raise ValueError(f'{where}: sigmas must be {K} positive numbers (one '
                         f'per keypoint), got {parsed["sigmas"]}')
    return parsed
