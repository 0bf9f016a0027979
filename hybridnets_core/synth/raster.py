"""Sub-pixel polygon and polyline drawing shared by every scene layer."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

_SHIFT = 4  # fractional bits of vertex coordinates handed to cv2
_SCALE = float(1 << _SHIFT)

Color = int | tuple[int, ...]


def _fixed(polys: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Convert float pixel polygons to cv2's fixed-point int32 vertices."""
    return [
        np.round(np.asarray(p, float) * _SCALE).astype(np.int32).reshape(-1, 1, 2) for p in polys
    ]


def fill(img: np.ndarray, polys: Sequence[np.ndarray], color: Color, antialias: bool) -> None:
    """Fill polygons in place, each on its own (one cv2 call would XOR their overlaps).

    Antialias only for photos, never for label masks.
    """
    line_type = cv2.LINE_AA if antialias else cv2.LINE_8
    # a polygon clipped away by a rig camera's view has fewer than 3 vertices left
    for poly in _fixed([p for p in polys if len(p) >= 3]):
        cv2.fillPoly(img, [poly], color, line_type, _SHIFT)


def polyline(img: np.ndarray, points: np.ndarray, color: Color, thickness: int) -> None:
    """Draw one open polyline with hard edges, as lane labels are drawn."""
    if len(points) < 2:  # clipped away by a rig camera's view
        return
    cv2.polylines(img, _fixed([points]), False, color, thickness, cv2.LINE_8, _SHIFT)
