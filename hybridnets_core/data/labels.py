"""Reading one frame's labels: BDD100K detection JSON and 8-bit segmentation masks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..checkpoint import BDD_CLASSES
from ..errors import DatasetError


@dataclass
class BoxLabels:
    """Boxes of one image in source pixels, plus the categories that were not used."""

    boxes: np.ndarray  # float32 [M, 4] (x1, y1, x2, y2)
    classes: np.ndarray  # int64 [M]
    unknown: list[str] = field(default_factory=list)
    clipped: int = 0
    dropped: int = 0


def read_box_labels(
    path: Path, class_index: dict[str, int], image_size: tuple[int, int]
) -> BoxLabels:
    """Boxes of known classes, clipped to the image; categories outside BDD and the project
    are reported as unknown, objects without `box2d` are ignored (BDD lane/area labels)."""
    try:
        record = json.loads(path.read_text())
        objects = record["frames"][0]["objects"] if record.get("frames") else []
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{path}: not a BDD100K label file ({type(exc).__name__})") from None
    height, width = image_size
    rows, classes, unknown = [], [], []
    clipped = dropped = 0
    for item in objects:
        box, category = item.get("box2d"), item.get("category")
        if box is None:
            continue
        if category not in class_index:
            if category not in BDD_CLASSES:
                unknown.append(str(category))
            continue
        try:
            coords = np.array([box["x1"], box["y1"], box["x2"], box["y2"]], dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{path}: box2d needs numeric x1, y1, x2, y2") from None
        inside = coords.copy()
        np.clip(inside[0::2], 0, width, out=inside[0::2])
        np.clip(inside[1::2], 0, height, out=inside[1::2])
        if inside[2] - inside[0] < 1 or inside[3] - inside[1] < 1:
            dropped += 1
            continue
        clipped += int(not np.array_equal(inside, coords))
        rows.append(inside)
        classes.append(class_index[category])
    boxes = np.stack(rows) if rows else np.zeros((0, 4), np.float32)
    return BoxLabels(boxes, np.asarray(classes, np.int64), unknown, clipped, dropped)


def read_mask(path: Path) -> np.ndarray:
    """An 8-bit mask as bool HxW (any value > 0 is foreground)."""
    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else np.zeros(0, np.uint8)
    mask = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
    if mask is None:
        raise DatasetError(f"cannot decode mask {path}: missing, empty or not an image")
    return mask > 0


def exclusive_masks(masks: np.ndarray) -> np.ndarray:
    """Multiclass labels: a pixel belongs to the last class that claims it (lane over road)."""
    claimed = np.zeros(masks.shape[1:], dtype=bool)
    exclusive = masks.copy()
    for channel in range(len(masks) - 1, -1, -1):
        exclusive[channel] &= ~claimed
        claimed |= masks[channel]
    return exclusive
