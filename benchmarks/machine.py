"""The machine and code a benchmark ran on, recorded the same way in every benchmark's JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hybridnets_core.provenance import machine_info as machine_of

REPO = Path(__file__).resolve().parent.parent


def machine_info() -> dict[str, Any]:
    """`hybridnets_core.provenance.machine_info` for this checkout; results being written
    do not count as changes to the code."""
    return machine_of(REPO, excluding=("benchmarks/results",))
