"""Atomic file writes: outputs appear complete or not at all."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import InputError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_current_umask()  # what open() would give a new file


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling path to write; it becomes `path` only if the block succeeds.

    The file gets the usual permissions (not mkstemp's private 0600), so exported models and
    checkpoints are readable by the vehicle's other users; on failure nothing is left behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)


def write_json(path: Path, payload: Any) -> None:
    write_bytes_atomic(path, json.dumps(payload, indent=2).encode())


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode by the file suffix (.jpg, .png, ...) and write atomically."""
    ok, encoded = cv2.imencode(path.suffix, image)
    if not ok:
        raise InputError(f"cannot encode an image as {path.suffix} for {path}")
    write_bytes_atomic(path, encoded.tobytes())
