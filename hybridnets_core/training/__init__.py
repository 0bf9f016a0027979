"""Losses, anchor assignment and the (distributed) training loop.

The public names are imported lazily: `training.options` is torch-free, the rest is not.
"""

from .. import lazy_exports

_EXPORTS = {
    "TrainOptions": ".options",
    "Trainer": ".trainer",
    "assign": ".assign",
    "detection_losses": ".losses",
    "segmentation_loss": ".losses",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
