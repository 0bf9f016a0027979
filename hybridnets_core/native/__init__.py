"""Our compiled ONNX Runtime custom-op library (domain ai.hybridnets) and how to load it.

The library (Uint8Lookup, Uint8ChannelMul, Uint8NearestUpsample: the *.cc files here) is built
when the package is installed with ONNX Runtime's C headers at hand (setup.py;
scripts/fetch_onnxruntime_headers.py fetches them). Without it, INT8 exports keep ONNX
Runtime's own operators only.
"""

from __future__ import annotations

import importlib.machinery
from pathlib import Path
from typing import Protocol

from ..errors import ConfigError

DOMAIN = "ai.hybridnets"
LIBRARY_NAME = "_ops"  # the setuptools extension name (hybridnets_core.native._ops)
BUILD_HINT = (
    "reinstall the package with ONNX Runtime's C headers "
    "(python scripts/fetch_onnxruntime_headers.py .venv/include/onnxruntime, "
    "or set ONNXRUNTIME_INCLUDE_DIR)"
)


class SessionOptionsLike(Protocol):
    """The one onnxruntime.SessionOptions method used here."""

    def register_custom_ops_library(self, path: str) -> None: ...


def library_path() -> Path | None:
    """The built library beside this module, None when it was not built."""
    folder = Path(__file__).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = folder / f"{LIBRARY_NAME}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def require_library() -> Path:
    """The built library, or a ConfigError saying how to build it."""
    path = library_path()
    if path is None:
        raise ConfigError(f"the native {DOMAIN} op library is not built; {BUILD_HINT}")
    return path


def register_ops(options: SessionOptionsLike) -> bool:
    """Make the ai.hybridnets ops available to sessions made with `options`, if built."""
    path = library_path()
    if path is not None:
        options.register_custom_ops_library(str(path))
    return path is not None
