"""Where a measured result came from: the git commit of the code and the machine it ran on,
recorded the same way by the benchmarks and the built-in model's build."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

# distributions whose versions decide the numbers (OpenCV under either of its wheel names)
LIBRARIES = ("numpy", "torch", "onnxruntime", "opencv-python", "opencv-python-headless", "scipy")


def git_commit(checkout: Path, excluding: Sequence[str] = ()) -> dict[str, Any]:
    """The commit of the git checkout at `checkout` and whether tracked files other than those
    under `excluding` (paths relative to it) have uncommitted changes; None outside git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        status = subprocess.run(
            [
                "git",
                "-C",
                str(checkout),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                *(f":(exclude){path}" for path in excluding),
            ],
            capture_output=True,
            text=True,
        )
    except OSError:
        return {"commit": None, "dirty": None}
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def machine_info(checkout: Path, excluding: Sequence[str] = ()) -> dict[str, Any]:
    """CPU, core count, load average now, the checkout's commit (see `git_commit`) and the
    installed numeric libraries (the load matters: a shared CPU changes every timing)."""
    info: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15": [round(value, 2) for value in os.getloadavg()],
        "python": sys.version.split()[0],
        "git": git_commit(checkout, excluding),
    }
    for library in LIBRARIES:
        try:
            info[library] = metadata.version(library)
        except metadata.PackageNotFoundError:
            continue
    return info
