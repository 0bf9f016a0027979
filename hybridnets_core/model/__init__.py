"""The HybridNets network, its configuration, anchors, checkpoints and weights.

`HybridNets` is imported lazily: the configuration, anchors and weights files load without
torch, so an ONNX Runtime deployment never imports it.
"""

from importlib import import_module
from typing import Any

__all__ = ["HybridNets"]


def __getattr__(name: str) -> Any:
    if name != "HybridNets":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return import_module(".hybridnets", __name__).HybridNets
