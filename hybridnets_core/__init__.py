"""hybridnets_core: HybridNets network, pipeline, training and tools, free of ROS.

The public names are imported lazily so that torch-free tools (synthetic data, ground
projection, the ONNX Runtime path) start fast and run without torch, in worker processes too.
"""

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports each name of `exports` (name ->
    relative submodule) from its submodule on first use."""

    def attribute(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(exports[name], package), name)

    return attribute


_EXPORTS = {
    "HybridNets": ".model",
    "ModelConfig": ".model.config",
    "FrameResult": ".inference.results",
    "Pipeline": ".inference.pipeline",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
