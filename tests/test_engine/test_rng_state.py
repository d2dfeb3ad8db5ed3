"""The generators' state survives a weights_only checkpoint round trip and
continues the same random sequences."""
import io
import random

import numpy as np
import torch

from personlab_mm.engine.rng_state import capture_rng_state, restore_rng_state


def _draws():
    return (random.random(), float(np.random.rand()), np.random.randn(),
            torch.rand(3).tolist(), torch.nn.functional.dropout(
                torch.ones(8), 0.5).tolist())


def test_restored_state_repeats_every_generator_after_weights_only_load():
    np.random.randn()  # a cached Gaussian in NumPy's state
    state = capture_rng_state()
    buffer = io.BytesIO()
    torch.save(dict(rng_state=state), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)['rng_state']
    first = _draws()
    assert _draws() != first  # the generators moved on
    restore_rng_state(loaded)
    assert _draws() == first


def test_restore_happens_right_before_the_first_new_batch():
    """The replayed batches draw from whatever state; the first new one
    and everything after it see the checkpoint's state."""
    from personlab_mm.engine.rng_state import RestoreBeforeNewBatches

    def batches():
        while True:
            yield torch.rand(1).item()  # a transform in the main process

    state = capture_rng_state()
    want = [torch.rand(1).item() for _ in range(3)]
    torch.manual_seed(123)  # the resumed process starts elsewhere
    it = RestoreBeforeNewBatches(batches(), replayed=2, state=state)
    replayed = [next(it), next(it)]
    assert replayed != want[:2]
    assert [next(it), torch.rand(1).item(), next(it)] == want
