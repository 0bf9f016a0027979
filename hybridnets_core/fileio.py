"""Atomic file writes: outputs appear complete or not at all."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import InputError


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary sibling file, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_json(path: Path, payload: Any) -> None:
    write_bytes_atomic(path, json.dumps(payload, indent=2).encode())


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode by the file suffix (.jpg, .png, ...) and write atomically."""
    ok, encoded = cv2.imencode(path.suffix, image)
    if not ok:
        raise InputError(f"cannot encode an image as {path.suffix} for {path}")
    write_bytes_atomic(path, encoded.tobytes())
