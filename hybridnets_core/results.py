"""Typed per-image results of the perception pipeline, in source-image pixels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

DRIVABLE_NAMES = ("road", "drivable", "drivable_area", "da")
LANE_NAMES = ("lane", "lane_line", "lanes", "ll")


@dataclass
class PerceptionResult:
    """Detections and segmentation masks for one image.

    boxes are float32 [N, 4] (x1, y1, x2, y2) in source pixels, highest score first;
    masks map each segmentation class name to a bool HxW array (source or network
    resolution, as the pipeline was configured); timings are milliseconds per stage.
    """

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    class_names: list[str]
    masks: dict[str, np.ndarray]
    image_size: tuple[int, int]
    timings: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.boxes)

    def _mask_named(self, names: tuple[str, ...]) -> np.ndarray | None:
        for name in names:
            if name in self.masks:
                return self.masks[name]
        return None

    @property
    def drivable(self) -> np.ndarray | None:
        """Drivable-area mask (the seg class named road/drivable), or None."""
        return self._mask_named(DRIVABLE_NAMES)

    @property
    def lane(self) -> np.ndarray | None:
        """Lane-line mask (the seg class named lane), or None."""
        return self._mask_named(LANE_NAMES)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready detections (masks are saved separately as images)."""
        return {
            "image_size": {"height": self.image_size[0], "width": self.image_size[1]},
            "detections": [
                {
                    "box": [round(float(v), 2) for v in box],
                    "score": round(float(score), 5),
                    "class_id": int(class_id),
                    "class_name": name,
                }
                for box, score, class_id, name in zip(
                    self.boxes, self.scores, self.class_ids, self.class_names
                )
            ],
            "timings_ms": {k: round(v, 3) for k, v in self.timings.items()},
        }
