"""The Pipeline's result for one frame: everything the node, val, bag tools, bench and predict use.

Detections are in source-image pixels. Segmentation is kept as the network's per-class labels
at network resolution (what the metrics score); the masks a consumer publishes or draws are
derived from them on first use, at source or network resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .letterbox import Letterbox

DRIVABLE_NAMES = ("road", "drivable", "drivable_area", "da")
LANE_NAMES = ("lane", "lane_line", "lanes", "ll")


@dataclass(frozen=True)
class Detections:
    """Boxes float32 [N, 4] (x1, y1, x2, y2) in source pixels, highest score first; scores
    float32 [N]; class ids int64 [N]."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)


def find_name(names: list[str], candidates: tuple[str, ...]) -> int | None:
    """Index of the first of `names` that is one of `candidates` (e.g. DRIVABLE_NAMES)."""
    return next((i for i, name in enumerate(names) if name in candidates), None)


@dataclass
class FrameResult:
    """Detections and segmentation of one frame, with the geometry to map them around.

    `names` are the model's detection classes (`class_ids` index them). `label_maps` is the
    predicted segmentation, bool [C, H, W] over the whole network input (padding included),
    one map per name of `seg_names`; `masks` crops the padding off and, for mask_resolution
    "source", resizes to the source image. `scored` holds a second set of detections at the
    Pipeline's scoring thresholds (val's protocol) when it has them. `timings` are this frame's
    share of the batch, in milliseconds per stage.
    """

    detections: Detections
    names: list[str]
    label_maps: np.ndarray
    seg_names: list[str]
    letterbox: Letterbox
    mask_resolution: str = "source"
    scored: Detections | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.detections)

    @property
    def boxes(self) -> np.ndarray:
        return self.detections.boxes

    @property
    def scores(self) -> np.ndarray:
        return self.detections.scores

    @property
    def class_ids(self) -> np.ndarray:
        return self.detections.class_ids

    @property
    def detection_names(self) -> list[str]:
        """The class name of each detection."""
        return [self.names[i] for i in self.class_ids]

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of the source image."""
        return self.letterbox.source_size

    @cached_property
    def masks(self) -> dict[str, np.ndarray]:
        """Segmentation class name -> bool mask without padding, at mask_resolution."""
        if self.mask_resolution == "source":
            maps = self.label_maps
            mapped = (self.letterbox.map_to_source(label.view(np.uint8)) for label in maps)
            return {name: m.view(bool) for name, m in zip(self.seg_names, mapped)}
        return {
            name: np.ascontiguousarray(self.letterbox.crop(label))
            for name, label in zip(self.seg_names, self.label_maps)
        }

    def network_mask(self, candidates: tuple[str, ...]) -> np.ndarray | None:
        """The first class of `candidates` at network resolution without padding, or None."""
        index = find_name(self.seg_names, candidates)
        return None if index is None else self.letterbox.crop(self.label_maps[index])

    def _mask(self, candidates: tuple[str, ...]) -> np.ndarray | None:
        index = find_name(self.seg_names, candidates)
        return None if index is None else self.masks[self.seg_names[index]]

    @property
    def drivable(self) -> np.ndarray | None:
        """Drivable-area mask (the seg class named road/drivable), or None."""
        return self._mask(DRIVABLE_NAMES)

    @property
    def lane(self) -> np.ndarray | None:
        """Lane-line mask (the seg class named lane), or None."""
        return self._mask(LANE_NAMES)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready detections (masks are saved separately as images)."""
        height, width = self.image_size
        return {
            "image_size": {"height": height, "width": width},
            "detections": [
                {
                    "box": [round(float(v), 2) for v in box],
                    "score": round(float(score), 5),
                    "class_id": int(class_id),
                    "class_name": name,
                }
                for box, score, class_id, name in zip(
                    self.boxes, self.scores, self.class_ids, self.detection_names
                )
            ],
            "timings_ms": {k: round(v, 3) for k, v in self.timings.items()},
        }
