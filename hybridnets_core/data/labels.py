"""Reading one frame's labels: BDD100K detection JSON and 8-bit segmentation masks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import DatasetError
from ..limits import MAX_BOXES_PER_IMAGE, MAX_LABEL_BYTES
from ..model.config import BDD_CLASSES


@dataclass
class BoxLabels:
    """Boxes of one image in source pixels, plus the categories that were not used."""

    boxes: np.ndarray  # float32 [M, 4] (x1, y1, x2, y2)
    classes: np.ndarray  # int64 [M]
    unknown: list[str] = field(default_factory=list)
    clipped: int = 0
    dropped: int = 0


class LabelError(DatasetError):
    """A detection label file that cannot be used; `kind` names the problem for the summary."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(f"{path}: {kind}")
        self.kind = kind


def _invalid(path: Path, detail: str) -> LabelError:
    return LabelError(path, f"invalid detection label ({detail})")


def _load_record(path: Path) -> Any:
    """The parsed JSON of a label file; LabelError when it is unreadable or not JSON."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_LABEL_BYTES + 1)
    except OSError:
        raise LabelError(path, "unreadable detection label") from None
    if len(data) > MAX_LABEL_BYTES:
        raise _invalid(path, f"larger than {MAX_LABEL_BYTES >> 20} MB")
    try:
        return json.loads(data)
    except RecursionError:
        raise _invalid(path, "nested too deeply") from None
    except ValueError:  # not JSON, not UTF-8, or a 5,000-digit number
        raise LabelError(path, "unreadable detection label") from None


def _objects(path: Path, record: Any) -> list[dict[str, Any]]:
    """frames[0].objects of a BDD100K record (no frames: no objects), each checked to be a
    mapping."""
    if not isinstance(record, dict):
        raise _invalid(path, "not a JSON object with 'frames'")
    frames = record.get("frames")
    if not frames:
        return []
    if not isinstance(frames, list) or not isinstance(frames[0], dict):
        raise _invalid(path, "frames is not a list of objects")
    objects = frames[0].get("objects")
    if not isinstance(objects, list):
        raise _invalid(path, "frames[0].objects is not a list")
    if not all(isinstance(item, dict) for item in objects):
        raise _invalid(path, "an entry of objects is not a JSON object")
    return objects


def _coordinates(path: Path, box: Any) -> np.ndarray:
    """x1, y1, x2, y2 of a box2d as float32; LabelError unless all four are finite numbers."""
    if not isinstance(box, dict):
        raise _invalid(path, "box2d is not a JSON object")
    values = [box.get(key) for key in ("x1", "y1", "x2", "y2")]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise _invalid(path, "box2d needs numeric x1, y1, x2, y2")
    with np.errstate(over="ignore"):
        coords = np.array(values, dtype=np.float32)
    if not np.isfinite(coords).all():
        raise _invalid(path, "box2d coordinates are not finite")
    return coords


def read_box_labels(
    path: Path, class_index: dict[str, int], image_size: tuple[int, int]
) -> BoxLabels:
    """Boxes of known classes, clipped to the image; categories outside BDD and the project
    are reported as unknown, objects without `box2d` are ignored (BDD lane/area labels).

    LabelError (a DatasetError) for files that are unreadable, malformed, hold non-finite
    coordinates or more than MAX_BOXES_PER_IMAGE boxes of the project's classes.
    """
    objects = _objects(path, _load_record(path))
    height, width = image_size
    rows, classes, unknown = [], [], []
    clipped = dropped = 0
    for item in objects:
        box, category = item.get("box2d"), item.get("category")
        if box is None:
            continue
        if not isinstance(category, str):
            raise _invalid(path, "a category is not a name")
        if category not in class_index:
            if category not in BDD_CLASSES:
                unknown.append(category)
            continue
        coords = _coordinates(path, box)
        inside = coords.copy()
        np.clip(inside[0::2], 0, width, out=inside[0::2])
        np.clip(inside[1::2], 0, height, out=inside[1::2])
        if inside[2] - inside[0] < 1 or inside[3] - inside[1] < 1:
            dropped += 1
            continue
        clipped += int(not np.array_equal(inside, coords))
        rows.append(inside)
        classes.append(class_index[category])
        if len(rows) > MAX_BOXES_PER_IMAGE:
            raise LabelError(path, f"more than {MAX_BOXES_PER_IMAGE} boxes in one image")
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
