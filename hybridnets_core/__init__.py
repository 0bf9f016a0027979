"""hybridnets_core: HybridNets network, pipeline, training and tools, free of ROS.

The public names are imported lazily so that torch-free tools (synthetic data, ground
projection) start fast, including in worker processes.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "HybridNets": ".model",
    "ModelConfig": ".model.config",
    "FrameResult": ".inference.results",
    "Pipeline": ".inference.pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hybridnets_core' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name], __name__), name)
