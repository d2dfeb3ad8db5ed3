"""Shared fixtures.

``PERSONLAB_COCO_SAMPLE`` points at the real COCO sample (four val2017
images, 14 people; ``../shared/data/coco_sample`` in this workplace) and
``PERSONLAB_CROWDPOSE_SAMPLE`` at the real CrowdPose sample (two images,
14 keypoints, no masks); ``.ci/run`` sets both. Tests that need them skip
with a visible reason when they are unset.
"""
import os
import os.path as osp
import sys

import pytest


def _sample_dir(variable: str, what: str) -> str:
    """The directory in ``$variable``, or a skip saying why not."""
    path = os.environ.get(variable)
    if not path:
        pytest.skip(f'{variable} is not set (the real {what} directory); '
                    '.ci/run sets it')
    if not osp.isfile(osp.join(path, 'person_keypoints.json')):
        pytest.skip(f'{variable}={path} has no person_keypoints.json')
    return path


@pytest.fixture(scope='session')
def coco_sample_dir() -> str:
    return _sample_dir('PERSONLAB_COCO_SAMPLE', 'COCO sample')


@pytest.fixture(scope='session')
def crowdpose_sample_dir() -> str:
    return _sample_dir('PERSONLAB_CROWDPOSE_SAMPLE', 'CrowdPose sample')


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """A small synthetic dataset (train 8 / val 4 images) for fast tests."""
    from personlab_mm.datasets.synthetic import ensure_split
    root = str(tmp_path_factory.mktemp('synthetic'))
    ensure_split(root, 'train', num_images=8)
    ensure_split(root, 'val', num_images=4)
    return root


@pytest.fixture(scope='session')
def python_exe() -> str:
    return sys.executable


def _devices():
    import torch
    return ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


@pytest.fixture(params=_devices())
def device(request) -> str:
    """Runs a test on the CPU and, where there is one, on the GPU."""
    return request.param


@pytest.fixture(autouse=True, scope='session')
def _register():
    from mmengine.registry import DefaultScope

    import personlab_mm  # noqa: F401
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('personlab_tests', scope_name='mmpose')
