"""Overlay drawing: drivable and lane tints plus labelled boxes on a BGR image."""

from __future__ import annotations

import cv2
import numpy as np

from ..inference.results import FrameResult

DRIVABLE_TINT = (0, 200, 0)  # BGR green
LANE_TINT = (0, 0, 255)  # BGR red
TINT_ALPHA = 0.45
BOX_COLORS = ((255, 178, 29), (56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255))


def _tint(image: np.ndarray, mask: np.ndarray | None, color: tuple[int, int, int]) -> None:
    """Blend `color` into the pixels of `mask` in place."""
    if mask is None or not mask.any():
        return
    if mask.shape != image.shape[:2]:
        mask = cv2.resize(
            mask.view(np.uint8), image.shape[1::-1], interpolation=cv2.INTER_NEAREST
        ).view(bool)
    pixels = image[mask].astype(np.float32)
    image[mask] = (pixels * (1 - TINT_ALPHA) + np.float32(color) * TINT_ALPHA).astype(np.uint8)


def draw_overlay(
    image_bgr: np.ndarray, result: FrameResult, class_names: list[str] | None = None
) -> np.ndarray:
    """A copy of the image with drivable (green) and lane (red) tints and scored boxes,
    labelled with `class_names` (default: the model's names)."""
    names = result.detection_names
    if class_names is not None:
        names = [class_names[i] for i in result.class_ids]
    canvas = image_bgr.copy()
    _tint(canvas, result.drivable, DRIVABLE_TINT)
    _tint(canvas, result.lane, LANE_TINT)
    thickness = max(1, round(max(canvas.shape[:2]) / 640))
    for box, score, class_id, name in zip(result.boxes, result.scores, result.class_ids, names):
        color = BOX_COLORS[int(class_id) % len(BOX_COLORS)]
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness, cv2.LINE_AA)
        label = f"{name} {score:.2f}"
        scale = 0.4 * thickness
        (width, height), baseline = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = max(y1 - height - baseline, 0)
        cv2.rectangle(canvas, (x1, top), (x1 + width, top + height + baseline), color, -1)
        cv2.putText(
            canvas,
            label,
            (x1, top + height),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return canvas
