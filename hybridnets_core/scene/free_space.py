"""Free space as a laser scan: per bearing from grid_frame's origin, the range to the first
seen ground-grid cell that is not drivable, as costmaps read a LaserScan.

Bearings follow REP 103 (angle counter-clockwise from +x, +y left) and span the smallest arc
holding every cell the camera sees. Ranges follow REP 117: a ray that leaves the seen area
without meeting a non-drivable cell reports +inf (no return within range), a bearing along
which the camera sees no cell at all NaN. Cells the ray crosses before its first seen one
(under the bonnet, below the lowest image row) are skipped. Which cells each bearing crosses,
and where it enters each, depends only on the grid and the seen cells, so it is computed once
per calibration; a frame costs one gather.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .ground import DRIVABLE, UNSEEN, GridSpec, GroundProjector

MAX_BEARINGS = 3600  # bounds the ray table of a very fine or very large grid (0.1 deg a circle)
_NO_CELL = -1  # a ray segment outside the grid: unseen


@dataclass(frozen=True)
class Scan:
    """Ranges (m, float32) at angle_min + i * angle_increment (rad), and the range limits."""

    angle_min: float
    angle_increment: float
    range_min: float
    range_max: float
    ranges: np.ndarray

    @property
    def angle_max(self) -> float:
        """Bearing of the last range (angle_min for a scan of one or none)."""
        return self.angle_min + max(len(self.ranges) - 1, 0) * self.angle_increment


def grid_reach(grid: GridSpec) -> tuple[float, float]:
    """Distances from grid_frame's origin to the grid's nearest point (0 when the origin lies
    on it) and to its farthest corner: every range a ray can meet within the grid."""
    dx = max(grid.x_min, 0.0, -grid.x_max)
    dy = max(grid.y_min, 0.0, -grid.y_max)
    far_x = max(abs(grid.x_min), abs(grid.x_max))
    far_y = max(abs(grid.y_min), abs(grid.y_max))
    return math.hypot(dx, dy), math.hypot(far_x, far_y)


def seen_arc(grid: GridSpec, cells: np.ndarray) -> tuple[float, float] | None:
    """(first bearing, width) of the smallest counter-clockwise arc of bearings from the origin
    holding the centres of `cells` (flat grid indices); None without cells."""
    xs, ys = grid.cell_centres()
    x, y = xs.reshape(-1)[cells], ys.reshape(-1)[cells]
    off_origin = np.hypot(x, y) > 1e-9 * grid.resolution  # a centre on the origin has no bearing
    angles = np.sort(np.arctan2(y[off_origin], x[off_origin]))
    if not len(angles):
        return None
    gaps = np.diff(np.append(angles, angles[0] + 2 * math.pi))
    widest = int(np.argmax(gaps))  # the arc is the circle without its widest empty gap
    return float(angles[(widest + 1) % len(angles)]), float(2 * math.pi - gaps[widest])


def bearings(grid: GridSpec, arc: tuple[float, float] | None) -> tuple[float, float, int]:
    """(angle_min, angle_increment, count) covering `arc` from end to end, with steps no wider
    than the angle one cell subtends at the grid's farthest corner (at most MAX_BEARINGS)."""
    _, range_max = grid_reach(grid)
    step = grid.resolution / range_max
    if arc is None:
        return 0.0, step, 0
    start, width = arc
    count = min(math.ceil(width / step) + 1, MAX_BEARINGS)
    return start, (width / (count - 1) if count > 1 else step), count


class FreeSpaceRays:
    """The cells each bearing crosses from the origin, in order (-1 outside the grid), and the
    distance at which it enters each: exact crossings of the cell boundaries."""

    def __init__(self, grid: GridSpec, angles: np.ndarray) -> None:
        self.grid = grid
        cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
        res = grid.resolution
        lines_x = grid.x_min + np.arange(grid.width + 1) * res
        lines_y = grid.y_min + np.arange(grid.height + 1) * res
        with np.errstate(divide="ignore", invalid="ignore"):
            crossings = np.concatenate(
                [np.zeros((len(angles), 1)), lines_x / cos, lines_y / sin], axis=1
            )
        crossings[~(np.isfinite(crossings) & (crossings >= 0))] = np.inf
        crossings.sort(axis=1)
        start, end = crossings[:, :-1], crossings[:, 1:]
        with np.errstate(invalid="ignore"):  # inf - inf past the last crossing
            real = np.isfinite(end) & (end - start > 1e-9 * res)  # no corner touches, padding
        middle = np.where(real, (start + end) / 2, 0.0)
        column = np.floor((middle * cos - grid.x_min) / res).astype(np.int64)
        row = np.floor((middle * sin - grid.y_min) / res).astype(np.int64)
        inside = real & (column >= 0) & (column < grid.width) & (row >= 0) & (row < grid.height)
        cells = np.where(inside, row * grid.width + column, _NO_CELL)
        # move the real segments to the front of each row, in order, and trim the padding
        order = np.argsort(~real, axis=1, kind="stable")
        length = int(real.sum(axis=1).max(initial=0))
        self.cells = np.take_along_axis(cells, order, axis=1)[:, :length]
        self.entry = np.take_along_axis(start, order, axis=1)[:, :length]

    def ranges(self, occupancy: np.ndarray) -> np.ndarray:
        """float32 range per bearing in an int8 [rows, cols] grid (0 drivable, -1 unseen, other
        values not drivable): the entry distance of the first non-drivable cell after the
        first seen one; +inf when the ray leaves the seen area first, NaN when it sees none."""
        grid = self.grid
        if occupancy.shape != (grid.height, grid.width):
            raise InputError(
                f"occupancy grid of shape {occupancy.shape} does not match the rays' grid "
                f"({grid.height}, {grid.width})"
            )
        count, length = self.cells.shape
        if not length:  # no bearing, or none crosses the grid
            return np.full(count, np.nan, np.float32)
        flat = occupancy.reshape(-1)
        values = np.where(self.cells >= 0, flat[np.maximum(self.cells, 0)], UNSEEN)
        seen = values != UNSEEN
        sees_any = seen.any(axis=1)
        started = np.arange(length) >= np.argmax(seen, axis=1)[:, None]
        blocked = started & seen & (values != DRIVABLE)
        left = started & ~seen
        hit = np.where(blocked.any(axis=1), np.argmax(blocked, axis=1), length)
        exit_ = np.where(left.any(axis=1), np.argmax(left, axis=1), length)
        ranges = np.full(count, np.inf, np.float32)
        returns = np.flatnonzero(hit < exit_)
        ranges[returns] = self.entry[returns, hit[returns]]
        ranges[~sees_any] = np.nan
        return ranges


class FreeSpaceScanner:
    """Free space of one camera's ground grid: bearings over what it sees, rays cast once."""

    def __init__(self, grid: GridSpec, seen_cells: np.ndarray) -> None:
        self.angle_min, self.angle_increment, count = bearings(grid, seen_arc(grid, seen_cells))
        self.range_min, self.range_max = grid_reach(grid)
        angles = self.angle_min + np.arange(count) * self.angle_increment
        self.rays = FreeSpaceRays(grid, angles)

    def scan(self, occupancy: np.ndarray) -> Scan:
        """The scan of one frame's occupancy grid (GroundProjector.occupancy)."""
        return Scan(
            self.angle_min,
            self.angle_increment,
            self.range_min,
            self.range_max,
            self.rays.ranges(occupancy),
        )


class CachedScanner:
    """Keeps the scanner of the current ground projector; rebuilt when the projector is (a new
    calibration, pose, grid or mask size)."""

    def __init__(self) -> None:
        self._projector: GroundProjector | None = None
        self.scanner: FreeSpaceScanner | None = None

    def get(self, projector: GroundProjector) -> FreeSpaceScanner:
        """The scanner for this projector's grid and seen cells."""
        if self.scanner is None or projector is not self._projector:
            self.scanner = FreeSpaceScanner(projector.grid, projector.seen_cells)
            self._projector = projector
        return self.scanner
