"""The grid convention and the image/input affines."""
import numpy as np

from personlab_mm.functional import (covering_grid_size, grid_size,
                                     input_affine_from_meta,
                                     input_size_of_grid, is_axis_aligned)


def test_grid_sizes():
    assert grid_size((801, 801), 16) == (51, 51)
    assert grid_size((800, 600), 16) == (50, 38)
    assert input_size_of_grid((51, 51), 16) == (801, 801)
    assert covering_grid_size((1401, 1001), 4.) == (351, 251)


def test_affine_from_mmpose_metainfo_inverts_mmpose_mapping():
    meta = dict(input_size=(321, 257), input_scale=np.array([640., 512.5]),
                input_center=np.array([300., 250.]))
    A = input_affine_from_meta(meta)
    image = np.array([[10., 20.], [600., 400.]])
    inp = image @ A[:, :2].T + A[:, 2]
    # MMPose's way back: input / input_size * input_scale + centre - scale/2
    back = inp / np.array(meta['input_size']) * meta['input_scale'] + \
        meta['input_center'] - 0.5 * meta['input_scale']
    np.testing.assert_allclose(back, image)
    assert is_axis_aligned(A)
    assert not is_axis_aligned([[1, .1, 0], [0, 1, 0]])
