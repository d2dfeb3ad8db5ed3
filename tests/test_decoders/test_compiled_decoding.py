"""The fixed-shape stages really compile (torch.compile, inductor on the
CPU here; CUDA on a GPU machine) and give the eager path's people and
masks. About three minutes of compilation on a 2-core CPU."""
import numpy as np
import pytest
import torch
from personlab_testing import build_codec, standing_person

from personlab_mm.analysis import encoded_to_maps
from personlab_mm.decoders import PersonLabDecoder

pytestmark = pytest.mark.slow


def test_compiled_decoding_gives_the_eager_people_and_masks():
    codec = build_codec(input_size=(257, 257), output_stride=8)
    kp = np.stack([standing_person(70, 90, 110),
                   standing_person(150, 100, 120),
                   standing_person(200, 160, 90)])
    xs, ys = codec.grid_points()
    masks = [(xs[None] >= p[:, 0].min() - 6) & (xs[None] <= p[:, 0].max() + 6)
             & (ys[:, None] >= p[:, 1].min() - 6) &
             (ys[:, None] <= p[:, 1].max() + 6) for p in kp]
    maps = encoded_to_maps(
        codec.encode(kp, np.ones(kp.shape[:2]), np.stack(masks)),
        codec.keypoints, 8.)
    gen = torch.Generator().manual_seed(0)
    noisy = maps.map(
        lambda _, t, __: t + 0.2 * torch.randn(t.shape, generator=gen))
    affine = np.array([[1.3, 0.1, -5.], [-0.05, 1.2, 3.]])
    eager = PersonLabDecoder(codec.keypoints, 32.)
    compiled = PersonLabDecoder(codec.keypoints, 32., compile=True)
    for m in (maps, noisy):  # the second image reuses the compiled code
        a = eager.decode(m, (257, 257), affine, (180, 200))
        b = compiled.decode(m, (257, 257), affine, (180, 200))
        assert len(a['scores']) >= 3
        for key in a:
            if key == 'masks':
                assert torch.equal(a[key], b[key])
            else:  # inductor may reorder float sums
                torch.testing.assert_close(b[key], a[key], atol=1e-5,
                                           rtol=1e-5)
