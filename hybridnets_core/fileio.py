"""Atomic file writes: outputs appear complete or not at all, and nothing stale stays behind.

Temporary siblings are named `.NAME.HOST~PID.RANDOM.tmp` after the process writing them. A
process killed mid-write (SIGKILL, power loss) cannot clean up, so the next writer into the same
folder removes the leftovers of writers on this host that are no longer alive, and never the
files of a live concurrent writer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import InputError, OutputError

TEMP_SUFFIX = ".tmp"
_NAME_CHARS = 64  # of the target's name kept in a temporary name (stays under NAME_MAX)
_TEMP_NAME = re.compile(r"^\..*\.(?P<host>[A-Za-z0-9-]+)~(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")
_swept: set[str] = set()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_current_umask()  # what open() would give a new file


def _host() -> str:
    """This machine's name as it appears in temporary names (letters, digits and '-')."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def _owner_prefix(name: str) -> str:
    """`.NAME.HOST~PID.`: the start of a temporary name owned by this process."""
    return f".{name[:_NAME_CHARS]}.{_host()}~{os.getpid()}."


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (a zombie counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _stale(name: str, host: str, untagged: bool) -> bool:
    """Whether a folder entry is a temporary of a dead writer (see remove_stale)."""
    match = _TEMP_NAME.match(name)
    if match is None:
        return untagged and name.startswith(".") and name.endswith(TEMP_SUFFIX)
    return match["host"] == host and not _alive(int(match["pid"]))


def remove_stale(folder: Path, untagged: bool = False) -> list[Path]:
    """Delete temporary files and folders in `folder` left by dead writers on this host.

    `untagged` also deletes hidden `.*.tmp` entries without a writer tag (written by versions
    before the tag, or by hand); only for folders whose every file this package writes.
    """
    removed = []
    host = _host()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _stale(entry.name, host, untagged):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:  # another process cleaned it first
            continue
        except OSError:  # not ours to remove after all (permissions): leave it
            continue
        removed.append(path)
    return removed


def _sweep_once(folder: Path) -> None:
    """remove_stale the first time this process writes into `folder`."""
    key = os.path.realpath(folder)
    if key not in _swept:
        _swept.add(key)
        remove_stale(folder)


def _make_parent(path: Path) -> None:
    """Create the folder `path` goes into; OutputError naming `path` when that fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(
            f"cannot create the folder for {path}: a file is in the way; choose another path"
        ) from None
    except OSError as exc:
        raise OutputError(
            f"cannot create the folder for {path}: {exc.strerror or exc}; choose a writable path"
        ) from None


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling path to write; it becomes `path` only if the block succeeds.

    The file gets the usual permissions (not mkstemp's private 0600), so exported models and
    checkpoints are readable by the vehicle's other users; on failure nothing is left behind.
    Failures to create, write or rename the file raise OutputError naming `path`.
    """
    path = Path(path)
    _make_parent(path)
    _sweep_once(path.parent)
    try:
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=_owner_prefix(path.name), suffix=TEMP_SUFFIX
        )
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(handle)
    try:
        try:
            yield Path(temporary)
            os.chmod(temporary, FILE_MODE)
            os.replace(temporary, path)
        except OSError as exc:
            if temporary not in (exc.filename, exc.filename2):
                raise
            if path.is_dir():
                raise OutputError(f"cannot write {path}: a folder is in the way") from None
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def staging_folder(path: Path) -> Path:
    """A new empty folder beside `path` to build it in (rename it to `path` when complete);
    stale staging folders of dead writers in the same parent are removed first."""
    path = Path(path)
    _make_parent(path)
    _sweep_once(path.parent)
    try:
        return Path(
            tempfile.mkdtemp(dir=path.parent, prefix=_owner_prefix(path.name), suffix=TEMP_SUFFIX)
        )
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def scratch_folder(name: str) -> Iterator[Path]:
    """A private working folder in the system temporary folder, removed afterwards; leftovers
    of killed processes (e.g. an INT8 export's 50 MB of models) go on the next use."""
    root = Path(tempfile.gettempdir())
    _sweep_once(root)
    folder = Path(tempfile.mkdtemp(dir=root, prefix=_owner_prefix(name), suffix=TEMP_SUFFIX))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (created if needed) while writing into it.

    OutputError when another live process holds it. The lock is flock(2) on the folder itself:
    no lock file is left behind, and the kernel drops the lock when its holder dies, however it
    dies, so a killed run never blocks the next one. Filesystems without flock on folders (some
    NFS setups) are written unlocked.
    """
    import fcntl  # POSIX only, like the vehicles this runs on

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise OutputError(f"cannot write into {folder}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"another hybridnets process is writing into {folder}; wait for it to finish "
                "or choose another output folder"
            ) from None
        except OSError:  # no flock here: nothing to coordinate with
            pass
        yield
    finally:
        os.close(handle)


def discard_unfinished(output: Path, finished_marker: Path) -> bool:
    """Delete `output` (file or folder) when `finished_marker`, written last by the run that
    made it, is missing: that run died midway. Call it while holding folder_lock, so the
    output is not that of a run still in progress. Returns whether something was deleted."""
    if finished_marker.exists() or not (output.exists() or output.is_symlink()):
        return False
    if output.is_dir() and not output.is_symlink():
        shutil.rmtree(output)
    else:
        output.unlink()
    return True


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)


def write_json(path: Path, payload: Any) -> None:
    write_bytes_atomic(path, json.dumps(payload, indent=2).encode())


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode by the file suffix (.jpg, .png, ...) and write atomically."""
    try:
        ok, encoded = cv2.imencode(path.suffix, image)
    except cv2.error:  # no encoder for this suffix
        ok = False
    if not ok:
        raise InputError(
            f"cannot encode an image as {path.suffix or '(no suffix)'} for {path}; use .jpg or .png"
        )
    write_bytes_atomic(path, encoded.tobytes())
