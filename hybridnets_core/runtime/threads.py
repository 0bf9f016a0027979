"""CPU thread settings that hold up when other processes share the cores.

A thread that spins (busy-waits for the next parallel region) keeps its core while another
process could use it, and when every core is busy a spinning pool fights the others for the
cores it waits on: with one CPU-bound process beside it torch's frame time grew 3.3x. So the
default is one thread per core this process may use (its affinity, not the machine's count)
and no spinning: ONNX Runtime's session setting `session.intra_op.allow_spinning`, and for
torch's OpenMP the OMP_WAIT_POLICY environment variable, which OpenMP reads once when torch
loads it, so `use_wait_policy` must run before the first `import torch`.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass

from ..errors import ConfigError

LOGGER = logging.getLogger(__name__)
WAIT_POLICY = "OMP_WAIT_POLICY"
AUTO = 0  # threads: one per core this process may use


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; the CPU count where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no sched_getaffinity on this platform (macOS, Windows)
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ThreadSettings:
    """Intra-op threads of torch and ONNX Runtime (AUTO: `available_cores()`) and whether idle
    threads spin; one instance drives both runtimes."""

    threads: int = AUTO
    spin: bool = False

    def __post_init__(self) -> None:
        if self.threads < 0:
            raise ConfigError(
                f"threads must be 0 (one per available core) or a positive count, got "
                f"{self.threads}"
            )

    @property
    def count(self) -> int:
        """The number of intra-op threads these settings give."""
        return self.threads or available_cores()


def use_wait_policy(spin: bool) -> bool:
    """Set OMP_WAIT_POLICY (ACTIVE with `spin`, else PASSIVE) for torch's OpenMP; False, with
    a warning, when torch is loaded already and keeps the policy it started with."""
    policy = "ACTIVE" if spin else "PASSIVE"
    if "torch" in sys.modules:
        if os.environ.get(WAIT_POLICY, "").upper() != policy:
            LOGGER.warning(
                "torch is loaded already: its OpenMP threads keep their wait policy; set "
                "%s=%s before starting the process to get it",
                WAIT_POLICY,
                policy,
            )
            return False
        return True
    os.environ[WAIT_POLICY] = policy
    return True


def use_torch_threads(settings: ThreadSettings) -> None:
    """torch's wait policy (first, while torch may not be loaded yet) and its intra-op thread
    count for this process (torch.set_num_threads is process-wide)."""
    use_wait_policy(settings.spin)
    import torch

    torch.set_num_threads(settings.count)
