"""What a frame is scored against, and the paper's rule for truth masks (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inference.letterbox import Letterbox
from .labels import exclusive_masks


def truth_masks(masks: np.ndarray, letterbox: Letterbox, multiclass: bool) -> np.ndarray:
    """Source-size label masks [C, h, w] to what the network is trained and scored against, by
    the paper's rule: each label image letterboxed (area resize, any value > 0), then made
    exclusive in multiclass mode (lane over road)."""
    fitted = letterbox.masks_to_network(masks, labels=True)
    return exclusive_masks(fitted) if multiclass else fitted


@dataclass
class FrameTruth:
    """What a frame is scored against: boxes in source pixels, masks at network size."""

    boxes: np.ndarray  # float32 [M, 4] (x1, y1, x2, y2)
    classes: np.ndarray  # int64 [M]
    masks: np.ndarray  # bool [C, H, W] letterboxed to the network size (`truth_masks`)
