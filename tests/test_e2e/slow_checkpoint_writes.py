"""Imported by the fault-injection test's config (``custom_imports``): before
each fsync of a ``.partial`` file (a checkpoint or ``last_checkpoint`` being
written) it prints ``FSYNC <path>`` and waits, so the test can kill the
run in the middle of a save."""
import os
import time

DELAY_S = float(os.environ.get('PERSONLAB_SLOW_FSYNC_S', '0.3'))
_fsync = os.fsync


def _announced_fsync(fd: int) -> None:
    try:
        path = os.readlink(f'/proc/self/fd/{fd}')
    except OSError:
        path = ''
    if path.endswith('.partial'):
        print(f'FSYNC {path}', flush=True)
        time.sleep(DELAY_S)
    _fsync(fd)


os.fsync = _announced_fsync
