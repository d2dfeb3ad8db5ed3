"""Keypoint sets from MMPose metainfo and the kinematic trees."""
import numpy as np
import pytest
from personlab_testing import (COCO_METAINFO, COCO_TEMPLATE,
                               CROWDPOSE_METAINFO, coco_keypoints)

from personlab_mm.structures import (PERSONLAB_COCO_TREE, KeypointSet,
                                     directed_edges, resolve_metainfo_file,
                                     spanning_tree, validate_tree)

COCO_FLIP = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)


def test_coco_from_mmpose_metainfo():
    kps = coco_keypoints()
    assert kps.num_keypoints == 17 and kps.num_edges == 32
    assert kps.names[0] == 'nose' and kps.names[16] == 'right_ankle'
    assert kps.flip_indices == COCO_FLIP
    assert kps.sigmas[0] == pytest.approx(0.026)
    assert kps.kappas[5] == pytest.approx(0.158)
    assert kps.tree_edges == PERSONLAB_COCO_TREE
    np.testing.assert_array_equal(kps.imputation_template(), COCO_TEMPLATE)
    # the same set from a parsed metainfo, a file path, and as is
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    path = resolve_metainfo_file(COCO_METAINFO['from_file'])
    parsed = parse_pose_metainfo(dict(from_file=path))
    assert KeypointSet.from_metainfo(path).names == kps.names
    again = KeypointSet.from_metainfo(parsed, 'personlab_coco')
    assert again.flip_indices == kps.flip_indices
    assert KeypointSet.from_metainfo(kps) is kps


def test_coco_tree_is_a_spanning_tree_with_32_directed_edges():
    validate_tree(PERSONLAB_COCO_TREE, 17)
    edges = directed_edges(PERSONLAB_COCO_TREE)
    assert len(edges) == 32 and len(set(edges)) == 32
    for e in range(16):
        src, dst = edges[e]
        assert edges[e + 16] == (dst, src)


def test_flip_maps_each_edge_to_its_mirror():
    kps = coco_keypoints()
    edges, perm = kps.edges, kps.flip_edge_indices
    assert sorted(perm) == list(range(32))
    for e, m in enumerate(perm):
        src, dst = edges[e]
        assert edges[m] == (COCO_FLIP[src], COCO_FLIP[dst])
        assert perm[m] == e  # an involution
    # left elbow -> left wrist mirrors to right elbow -> right wrist
    assert edges[perm[edges.index((7, 9))]] == (8, 10)


def test_tree_derived_from_crowdpose_skeleton():
    kps = KeypointSet.from_metainfo(CROWDPOSE_METAINFO)
    assert kps.num_keypoints == 14 and kps.num_edges == 26
    names = dict(enumerate(kps.names))
    tree = {(names[a], names[b]) for a, b in kps.tree_edges}
    # rooted at the neck (its own mirror with the most links), symmetric,
    # every edge a skeleton link
    assert ('neck', 'left_shoulder') in tree and ('neck', 'top_head') in tree
    assert ('left_shoulder', 'left_hip') in tree
    assert ('right_shoulder', 'right_hip') in tree
    assert ('left_knee', 'left_ankle') in tree
    assert sorted(kps.flip_edge_indices) == list(range(26))
    assert kps.imputation_template().shape == (14, 2)


def test_derived_coco_tree_follows_the_skeleton_and_is_symmetric():
    kps = KeypointSet.from_metainfo(COCO_METAINFO)  # no tree given
    assert kps.tree_edges[:2] == ((0, 1), (0, 2))  # nose -> eyes
    assert sorted(kps.flip_edge_indices) == list(range(32))


def test_spanning_tree_rule_by_hand():
    # 0 centre; 1/2 and 3/4 mirrored pairs; 3 and 4 linked to 1, 2 and 0
    links = [(0, 1), (0, 2), (1, 3), (2, 4), (3, 4)]
    flip = [0, 2, 1, 4, 3]
    assert spanning_tree(5, links, flip) == [(0, 1), (0, 2), (1, 3), (2, 4)]
    with pytest.raises(ValueError, match=r"\['d'\]"):
        spanning_tree(4, [(0, 1), (1, 2)], [0, 1, 2, 3], 'abcd')


@pytest.mark.parametrize('edges,msg', [
    ([(0, 1)] * 16, 'cycle'),
    (list(PERSONLAB_COCO_TREE[:-1]), '16 edges'),
    (list(PERSONLAB_COCO_TREE[:-1]) + [(3, 3)], 'invalid'),
])
def test_validate_tree_rejects_non_trees(edges, msg):
    with pytest.raises(ValueError, match=msg):
        validate_tree(edges, 17)


def test_asymmetric_tree_cannot_be_flipped():
    kps = KeypointSet(['a', 'b', 'c'], [0, 2, 1], [.1] * 3, [(0, 1), (1, 2)])
    with pytest.raises(ValueError, match='symmetric'):
        kps.flip_edge_indices


def test_bad_keypoint_sets():
    with pytest.raises(ValueError, match='unknown tree'):
        KeypointSet.from_metainfo(COCO_METAINFO, 'tree_of_life')
    with pytest.raises(FileNotFoundError, match='no_such'):
        KeypointSet.from_metainfo(dict(from_file='no_such_metainfo.py'))
    with pytest.raises(ValueError, match='flip indices'):
        KeypointSet(['a', 'b'], [0], [.1, .1], [(0, 1)])
    with pytest.raises(ValueError, match='template'):
        KeypointSet(['a', 'tail'], [0, 1], [.1, .1],
                    [(0, 1)]).imputation_template()


def _write_metainfo(path, links=(('a', 'b'), ('b', 'c')), sigmas=True):
    """A three-keypoint MMPose metainfo file."""
    kpts = ', '.join(f"{i}: dict(name='{n}', id={i}, color=[0, 0, 0], "
                     "type='upper', swap='')" for i, n in enumerate('abc'))
    skel = ', '.join(f'{i}: dict(link={tuple(l)}, id={i}, color=[0, 0, 0])'
                     for i, l in enumerate(links))
    text = (f"dataset_info = dict(dataset_name='tiny', keypoint_info={{"
            f'{kpts}}}, skeleton_info={{{skel}}}, joint_weights=[1.] * 3'
            + (', sigmas=[.1] * 3' if sigmas else '') + ')\n')
    path.write_text(text)
    return str(path)


def test_metainfo_errors_name_the_file_and_field(tmp_path):
    good = _write_metainfo(tmp_path / 'tiny.py')
    assert KeypointSet.from_metainfo(good).num_keypoints == 3
    no_sigmas = _write_metainfo(tmp_path / 'no_sigmas.py', sigmas=False)
    with pytest.raises(ValueError, match=r'no_sigmas.py.*\[.sigmas.\]'):
        KeypointSet.from_metainfo(no_sigmas)
    # 'c' is linked to nothing: no spanning tree
    apart = _write_metainfo(tmp_path / 'apart.py', links=[('a', 'b')])
    with pytest.raises(ValueError, match=r"apart.py.*\['c'\]"):
        KeypointSet.from_metainfo(apart)
    # an explicit tree still works
    assert KeypointSet.from_metainfo(apart, [(0, 1), (1, 2)]).num_edges == 4
    with pytest.raises(ValueError, match='sigmas must be 3 positive'):
        KeypointSet.from_metainfo(dict(
            dataset_name='bad', keypoint_info={
                i: dict(name=n, id=i, color=[0, 0, 0], type='', swap='')
                for i, n in enumerate('abc')
            }, skeleton_info={}, joint_weights=[1.] * 3, sigmas=[.1, 0., .1]),
            [(0, 1), (1, 2)])
