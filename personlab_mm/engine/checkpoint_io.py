"""Checkpoint files that survive kills, full disks and truncation.

Writing: :func:`atomic_write` puts the bytes in ``<path>.partial`` in the
same directory, flushes and fsyncs it, renames it over ``<path>`` and
fsyncs the directory. A kill at any moment leaves either the old file or
the complete new one under ``<path>``, never a cut one; a failed write
(full disk, unwritable directory) removes the partial file and raises
:class:`CheckpointWriteError` naming the path and the free space.
:class:`AtomicLocalBackend` is MMEngine's local file backend with that
``put``; :class:`~personlab_mm.engine.hooks.SafeCheckpointHook` saves
through it.

Reading: :func:`checkpoint_problem` tells whether a checkpoint file is
complete (zip structure and CRCs) without unpickling it;
:func:`find_resumable_checkpoint` and :func:`resolve_resume` pick what
``--resume`` resumes from, skipping unreadable files with a warning.
"""
import logging
import os
import os.path as osp
import re
import shutil
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple, Union

import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import print_log

PARTIAL_SUFFIX = '.partial'
ATOMIC_BACKEND = 'personlab_atomic_local'
#: Names MMEngine's ``CheckpointHook`` gives regular checkpoints.
CHECKPOINT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


class CheckpointWriteError(OSError):
    """A checkpoint (or ``last_checkpoint``) could not be written."""


class CheckpointReadError(RuntimeError):
    """The checkpoint asked for cannot be resumed from."""


def _free_space(directory: str) -> str:
    """Free space of the file system holding ``directory``, in words."""
    probe = directory
    while probe and not osp.isdir(probe):
        probe = osp.dirname(probe)
    try:
        free = shutil.disk_usage(probe or '.').free
    except OSError as error:
        return f'free space unknown ({error.strerror})'
    return f'{free / 2**20:.1f} MiB free'


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(data: Union[bytes, str], path: Union[str, Path]) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen cut short.

    Args:
        data (bytes | str): Contents (``str`` is written as UTF-8).
        path (str | Path): Destination; its directory is created.

    Raises:
        CheckpointWriteError: The write failed (full disk, unwritable
            directory, ...). The message names ``path``, the reason and the
            free space; no partial file is left behind and an existing file
            at ``path`` is unchanged.
    """
    path = str(path)
    if isinstance(data, str):
        data = data.encode('utf-8')
    directory = osp.dirname(osp.abspath(path))
    partial = path + PARTIAL_SUFFIX
    try:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)
    except OSError as error:
        if osp.lexists(partial):
            os.remove(partial)
        reason = error.strerror or str(error)
        raise CheckpointWriteError(
            f'could not write {path} ({len(data) / 2**20:.1f} MiB): '
            f'{reason}; {_free_space(directory)} on the file system of '
            f'{directory}. Nothing was left half-written there; the '
            'previous checkpoint is intact. Free space or choose another '
            '--work-dir, then resume with --resume.') from error
    _fsync_directory(directory)


def remove_partial_files(directory: str) -> List[str]:
    """Delete ``*.partial`` files a killed :func:`atomic_write` left in
    ``directory``; returns their paths."""
    if not osp.isdir(directory):
        return []
    removed = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(PARTIAL_SUFFIX):
            os.remove(osp.join(directory, name))
            removed.append(osp.join(directory, name))
    return removed


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """MMEngine's ``LocalBackend`` whose ``put``/``put_text`` write
    atomically (:func:`atomic_write`). Select it with
    ``backend_args=dict(backend='personlab_atomic_local')``."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        atomic_write(obj.encode(encoding), filepath)


def _crc_checked() -> bool:
    """Whether torch writes CRC-32s into checkpoints (the default)."""
    get = getattr(torch.serialization, 'get_crc32_options', None)
    return True if get is None else bool(get())


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from, or ``None`` if it is complete.

    Checks the zip archive torch writes (central directory and, unless CRCs
    were switched off, every record's CRC-32) without unpickling anything;
    a file that is not a zip archive (legacy format) is loaded.
    """
    if not osp.isfile(path):
        return 'the file does not exist'
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip() if _crc_checked() else None
            return None if bad is None else (
                f'record {bad} fails its CRC check (damaged file)')
        torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # zip, I/O and unpickling errors alike
        return f'unreadable ({type(error).__name__}: {error})'
    return None


def _pointer_target(work_dir: str) -> Optional[str]:
    """The path MMEngine's ``last_checkpoint`` file in ``work_dir`` names."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        target = f.read().strip()
    return target or None


def _numbered_checkpoints(folder: str) -> List[Tuple[int, str]]:
    """``(N, path)`` of every ``iter_N.pth`` / ``epoch_N.pth`` in
    ``folder``."""
    if not osp.isdir(folder):
        return []
    return [(int(match.group(1)), osp.join(folder, name))
            for name in os.listdir(folder)
            for match in [CHECKPOINT_NAME.match(name)] if match]


def checkpoint_candidates(work_dir: str) -> List[str]:
    """Checkpoints to resume from, newest first: the one ``last_checkpoint``
    names, then every ``iter_N.pth`` / ``epoch_N.pth`` next to it or in
    ``work_dir`` by decreasing N."""
    target = _pointer_target(work_dir)
    folders = {osp.abspath(work_dir)}
    if target is not None:
        folders.add(osp.dirname(osp.abspath(target)))
    numbered = [item for folder in folders
                for item in _numbered_checkpoints(folder)]
    ordered = [path for _, path in sorted(numbered, reverse=True)]
    if target is not None:
        ordered = [target] + [
            p for p in ordered if osp.abspath(p) != osp.abspath(target)
        ]
    return ordered


def _newest_readable_next_to(path: str) -> Optional[str]:
    """The newest readable numbered checkpoint in ``path``'s folder."""
    folder = osp.dirname(osp.abspath(path))
    for _, candidate in sorted(_numbered_checkpoints(folder), reverse=True):
        if checkpoint_problem(candidate) is None:
            return candidate
    return None


def find_resumable_checkpoint(work_dir: str,
                              warn: bool = True) -> Optional[str]:
    """The newest readable checkpoint of ``work_dir`` (``None`` if there is
    none); each newer unreadable one is skipped with a warning naming it and
    why."""
    for path in checkpoint_candidates(work_dir):
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        if warn:
            print_log(
                f'Skipping checkpoint {path}: {problem}. Resuming from an '
                'older one instead.',
                logger='current',
                level=logging.WARNING)
    return None


def resolve_resume(work_dir: str, requested: str) -> Optional[str]:
    """What ``--resume`` resumes from.

    Args:
        work_dir (str): The run's work directory.
        requested (str): ``'auto'`` (``--resume`` without a path) or a
            checkpoint path.

    Returns:
        str | None: A readable checkpoint, or ``None`` when ``'auto'`` finds
        none (training starts from the config's ``load_from`` or scratch).

    Raises:
        CheckpointReadError: ``requested`` is a path that cannot be read;
            the message names it, says why, and names the newest readable
            checkpoint next to it or in ``work_dir``.
    """
    if requested == 'auto':
        found = find_resumable_checkpoint(work_dir)
        if found is None and checkpoint_candidates(work_dir):
            print_log(
                f'No readable checkpoint in {work_dir}: training starts '
                'from the beginning.',
                logger='current',
                level=logging.WARNING)
        return found
    problem = checkpoint_problem(requested)
    if problem is None:
        return requested
    newest = (_newest_readable_next_to(requested)
              or find_resumable_checkpoint(work_dir, warn=False))
    hint = (f'The newest readable checkpoint is {newest}: resume from it '
            f'with --resume {newest}, or with --resume alone to pick it '
            'automatically.' if newest else
            'No readable checkpoint was found next to it or in the work '
            f'directory {work_dir}.')
    raise CheckpointReadError(
        f'Cannot resume from {requested}: {problem}. {hint}')
