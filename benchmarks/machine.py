"""The machine and code a benchmark ran on, recorded the same way in every benchmark's JSON (the
load average matters: this project's numbers are often taken on a shared CPU)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# distributions whose versions decide the numbers (opencv under either of its wheel names)
LIBRARIES = ("numpy", "torch", "onnxruntime", "opencv-python", "opencv-python-headless", "scipy")


def git_commit() -> dict[str, Any]:
    """The checkout's commit and whether it had uncommitted changes to tracked files."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {"commit": commit or "unknown", "dirty": dirty}


def machine_info() -> dict[str, Any]:
    """CPU, core count, load average now, git commit and the installed numeric libraries."""
    info: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15": [round(value, 2) for value in os.getloadavg()],
        "python": sys.version.split()[0],
        "git": git_commit(),
    }
    for library in LIBRARIES:
        try:
            info[library] = metadata.version(library)
        except metadata.PackageNotFoundError:
            continue
    return info
