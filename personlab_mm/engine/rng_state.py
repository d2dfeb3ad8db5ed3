"""The random number generators' state, in a form a checkpoint loaded
with ``torch.load(weights_only=True)`` accepts (tensors, numbers, strings,
lists), so that a resumed run draws what the uninterrupted run would
have (dropout masks, random layers).

MMEngine seeds the generators once and does not save their state: a run
resumed at iteration k draws from the seed's sequence again, not from
where iteration k left it. The data-loader workers do not need this
(MMEngine re-seeds them per worker and the loop replays the consumed
batches); the main process does, and only once the replay is over (with
``num_workers=0`` the replayed transforms draw from it):
:class:`RestoreBeforeNewBatches` sets it right before the first batch that
was not consumed before.
"""
import random
from typing import Dict

import numpy as np
import torch


def capture_rng_state() -> Dict:
    """Python's, NumPy's, torch's CPU and (if any) CUDA generators."""
    version, words, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=dict(version=version, words=list(words), gauss=gauss),
        numpy=dict(kind=kind, keys=torch.from_numpy(keys.astype(np.int64)),
                   pos=int(pos), has_gauss=int(has_gauss),
                   cached=float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Dict) -> None:
    """Set the generators to a :func:`capture_rng_state` result (the CUDA
    ones only when the same number of devices is there)."""
    py = state['python']
    random.setstate((py['version'], tuple(py['words']), py['gauss']))
    npy = state['numpy']
    np.random.set_state((npy['kind'], npy['keys'].numpy().astype(np.uint32),
                         npy['pos'], npy['has_gauss'], npy['cached']))
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available() and \
            len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


class RestoreBeforeNewBatches:
    """A training loop's data iterator that restores the generators right
    before it fetches the first batch after ``replayed`` ones (the batches
    a resumed iteration-based loop skips), then behaves as the iterator.

    Args:
        iterator: The loop's data iterator.
        replayed (int): Batches fetched before the restore (the resumed
            iteration).
        state (dict): A :func:`capture_rng_state` result.
    """

    def __init__(self, iterator, replayed: int, state: Dict) -> None:
        self.iterator = iterator
        self.remaining = replayed
        self.state = state

    def __iter__(self):
        return self

    def __next__(self):
        if self.state is not None:
            if self.remaining == 0:
                restore_rng_state(self.state)
                self.state = None
            else:
                self.remaining -= 1
        return next(self.iterator)

    def __getattr__(self, name: str):
        return getattr(self.iterator, name)
