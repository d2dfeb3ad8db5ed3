"""The random number generators' state, in a form a checkpoint loaded
with ``torch.load(weights_only=True)`` accepts (tensors, numbers, strings,
lists), so that a resumed run draws what the uninterrupted run would
have (dropout masks, random layers).

MMEngine seeds the generators once and does not save their state: a run
resumed at iteration k draws from the seed's sequence again, not from
where iteration k left it. The data-loader workers do not need this
(MMEngine re-seeds them per worker and the loop replays the consumed
batches); the main process does.
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
