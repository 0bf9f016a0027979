"""The HybridNets network, its configuration, anchors, checkpoints and weights.

`HybridNets` is imported lazily: the configuration, anchors and weights files load without
torch, so an ONNX Runtime deployment never imports it.
"""

from .. import lazy_exports

_EXPORTS = {"HybridNets": ".hybridnets"}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
