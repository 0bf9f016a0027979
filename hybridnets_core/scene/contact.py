"""Where each detected object meets the road, read from the drivable-area mask.

A detector's box edge is a regression with a few pixels of error, and at short range a few
pixels of the bottom edge are several percent of the range. The drivable-area segmentation
marks the same boundary directly: drivable area does not include the road under a vehicle, so
in the columns of a box the road resumes right below the vehicle's contact with it (the
free-space boundary of stixel-style perception). For each box this finds, in the central half
of its columns, the row where a drivable run that reaches the bottom of a search band around
the box's bottom edge begins; where most of those columns show one, their median is the contact
row. Elsewhere (no drivable area below the object, another object in the way, a mask without a
drivable class) the box's own bottom edge stays.

Rows are edges, as box coordinates are: row r is the boundary between pixel rows r - 1 and r.
The mask is the network's, cropped to the image (FrameResult.network_mask), so the answer keeps
the network's resolution and needs no resize to the source size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..settings import check_settings, setting


@dataclass(frozen=True)
class ContactSettings:
    """Search band (a fraction of the box height either side of its bottom edge) and the share
    of the box's central columns that must show the boundary."""

    band: float = setting(
        0.3,
        "Search band either side of a box's bottom edge for the road boundary, as a fraction of "
        "the box height.",
        low=0.01,
        high=1.0,
    )
    min_columns: float = setting(
        0.5,
        "Share of a box's central columns that must show the road boundary for it to be used.",
        low=0.01,
        high=1.0,
    )

    def __post_init__(self) -> None:
        check_settings(self, "contact")


def drivable_contact_rows(
    boxes: np.ndarray, drivable: np.ndarray, scale: float, settings: ContactSettings
) -> np.ndarray:
    """Contact row [N] in source pixels per box (x1, y1, x2, y2 in source pixels), NaN where
    the mask shows no boundary; `drivable` is bool [h, w] at the network's resolution, covering
    the image only, `scale` network pixels per source pixel."""
    rows = np.full(len(boxes), np.nan)
    height, width = drivable.shape
    network = np.asarray(boxes, dtype=np.float64) * scale
    for index, (x1, y1, x2, y2) in enumerate(network):
        quarter, reach = (x2 - x1) / 4, (y2 - y1) * settings.band
        first, last = max(0, math.ceil(x1 + quarter)), min(width, math.floor(x2 - quarter) + 1)
        top, bottom = max(0, math.floor(y2 - reach)), min(height, math.ceil(y2 + reach))
        if last <= first or bottom - top < 2:
            continue
        blocked = ~drivable[top:bottom, first:last]
        # last blocked pixel of each column; the boundary is just below it, if road follows
        from_end = np.argmax(blocked[::-1], axis=0)
        boundary = bottom - from_end
        found = blocked.any(axis=0) & (from_end > 0)
        if found.sum() >= settings.min_columns * (last - first):
            rows[index] = float(np.median(boundary[found])) / scale
    return rows
