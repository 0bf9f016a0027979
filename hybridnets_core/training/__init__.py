"""Losses, anchor assignment and the (distributed) training loop.

The public names are imported lazily: `training.options` is torch-free, the rest is not.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "TrainOptions": ".options",
    "Trainer": ".trainer",
    "assign": ".assign",
    "detection_losses": ".losses",
    "segmentation_loss": ".losses",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name], __name__), name)
