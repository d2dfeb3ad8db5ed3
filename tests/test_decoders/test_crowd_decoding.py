"""Decoding in crowds: people standing one behind the other, same-type
keypoints 5-30 px apart, limbs crossing (``make_crowd_scene``). Perfect
maps must give back every annotated person; the paper's plain chain
(bilinear mid-range reads, no long-range fallback) does not."""
import numpy as np
import pytest
from personlab_testing import build_codec

from personlab_mm.analysis import perfect_maps
from personlab_mm.datasets.synthetic import make_crowd_scene
from personlab_mm.decoders import PersonLabDecoder

IDENTITY = np.array([[1., 0., 0.], [0., 1., 0.]])
SEEDS = range(8)


def _oks(gt: np.ndarray, area: float, people: np.ndarray,
         sigmas: np.ndarray) -> float:
    """Best COCO OKS of the annotated person ``gt`` (K, 3) among
    ``people`` (J, K, 2)."""
    if len(people) == 0:
        return 0.
    d2 = ((people - gt[None, :, :2])**2).sum(-1)
    e = np.exp(-d2 / (2 * area * (2 * sigmas)**2 + np.spacing(1)))
    return float(e[:, gt[:, 2] > 0].mean(1).max())


@pytest.fixture(scope='module')
def crowd_maps():
    codec = build_codec(output_stride=8, radius=32.)
    scenes = []
    for seed in SEEDS:
        img, anns = make_crowd_scene(4, (640, 480), seed=seed)
        h, w = img.shape[:2]
        meta = dict(raw_ann_info=anns, ori_shape=(h, w),
                    img_path=f'crowd scene {seed}')
        scenes.append((perfect_maps(codec, meta, IDENTITY, (h, w), 8), anns,
                       (w, h)))
    return codec, scenes


def _worst_oks(codec, scenes, **settings):
    decoder = PersonLabDecoder(codec.keypoints, codec.radius, **settings)
    sigmas = np.asarray(codec.keypoints.sigmas)
    worst = []
    for maps, anns, size in scenes:
        people = decoder.decode(maps, size)['keypoints'].numpy()
        for ann in anns:
            gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
            worst.append(_oks(gt, ann['area'], people, sigmas))
    return min(worst), sum(o < 0.9 for o in worst), len(worst)


def test_crowd_scenes_are_crowded():
    img, anns = make_crowd_scene(4, (640, 480), seed=0)
    assert len(anns) == 8
    for behind, front in zip(anns[::2], anns[1::2]):
        a = np.asarray(behind['keypoints']).reshape(-1, 3)
        b = np.asarray(front['keypoints']).reshape(-1, 3)
        both = (a[:, 2] > 0) & (b[:, 2] > 0)
        gap = np.linalg.norm(a[both, :2] - b[both, :2], axis=1)
        # the torso keypoints of a pair lie 5-30 px apart
        assert ((gap >= 4.5) & (gap <= 30.5)).sum() >= 4, gap


def test_perfect_maps_give_back_every_person_in_a_crowd(crowd_maps):
    codec, scenes = crowd_maps
    worst, lost, total = _worst_oks(codec, scenes)
    assert total == 8 * len(SEEDS)
    assert lost == 0 and worst > 0.95, (worst, lost)


def test_the_papers_plain_chain_loses_people_behind_others(crowd_maps):
    codec, scenes = crowd_maps
    _, lost, _ = _worst_oks(codec, scenes, offsets_from_voters=False,
                            long_range_fallback=False)
    assert lost >= 3
    # bilinear reads alone (with the long-range fallback) lose some too
    _, lost, _ = _worst_oks(codec, scenes, offsets_from_voters=False)
    assert lost >= 1
