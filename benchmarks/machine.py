"""The machine and code a benchmark ran on, recorded the same way in every benchmark's JSON (the
load average matters: this project's numbers are often taken on a shared CPU)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LIBRARIES = ("numpy", "torch", "onnxruntime", "cv2", "scipy")


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
    """CPU, core count, load average now, git commit and the numeric libraries' versions."""
    info: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15": [round(value, 2) for value in os.getloadavg()],
        "python": sys.version.split()[0],
        "git": git_commit(),
    }
    for library in LIBRARIES:
        if library in sys.modules:
            info[library] = getattr(sys.modules[library], "__version__", "unknown")
    return info
