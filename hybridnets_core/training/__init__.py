"""Losses, anchor assignment and the (distributed) training loop."""

from .assign import assign
from .losses import detection_losses, segmentation_loss
from .trainer import Trainer, TrainOptions

__all__ = ["TrainOptions", "Trainer", "assign", "detection_losses", "segmentation_loss"]
