"""The machine a benchmark ran on, recorded the same way in every benchmark's JSON (the load
average matters: this project's numbers are often taken on a shared CPU)."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any


def machine_info() -> dict[str, Any]:
    """CPU, core count, load average now, and the versions of the numeric libraries loaded."""
    info: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15": [round(value, 2) for value in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    for library in ("numpy", "torch", "onnxruntime", "cv2"):
        if library in sys.modules:
            info[library] = getattr(sys.modules[library], "__version__", "unknown")
    return info
