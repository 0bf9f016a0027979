"""A local map in odom: each frame's drivable evidence, fused over time while the vehicle drives.

The map is a square window of cells around the vehicle, on a lattice fixed in odom_frame (cell
edges at whole multiples of the resolution), holding log-odds of "not drivable" per cell (0:
unknown). Each frame's ground grid (ground.GroundProjector.occupancy, in grid_frame) is placed
in odom with the ego pose at its stamp (ego_motion.EgoPose) and sampled at every map cell
centre it covers (nearest cell): a drivable cell adds free evidence, a non-drivable cell
occupied evidence, an unseen one nothing; the sum is clamped. Cells under a located object's
footprint count as not drivable whatever the mask says, so a vehicle is never driven through.
Cells this frame does not observe lose log-odds toward 0 at a fixed rate per second of stamp
time, so what is no longer seen returns to unknown. The window moves by whole cells, keeping
its data, once the vehicle is farther than `recentre_m` from its centre. Several cameras fuse
into one map, each frame with its own stamp and pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, InputError
from ..settings import check_settings, setting
from .ego_motion import EgoPose
from .ground import DRIVABLE, NOT_DRIVABLE, UNSEEN, GridSpec
from .objects import GroundObjects

MAX_CELLS = 4_000_000  # as GridSpec: bounds the map's memory (16 MB of float32) and its cost
UNKNOWN = -1  # OccupancyGrid value of a cell without evidence


@dataclass(frozen=True)
class LocalMapSettings:
    """Extent, resolution and evidence model of the local map (fixed at start)."""

    size_m: float = setting(
        100.0, "Side of the square local map around the vehicle (m).", low=1.0, high=2000.0,
        runtime=False,
    )  # fmt: skip
    resolution: float = setting(
        0.2, "Cell size of the local map (m).", low=0.01, high=10.0, runtime=False
    )
    recentre_m: float = setting(
        10.0,
        "The map moves (by whole cells, keeping its data) to centre on the vehicle once the "
        "vehicle is farther than this from its centre along x or y (m); below size_m / 2.",
        low=0.0,
        high=1000.0,
        runtime=False,
    )
    hit_log_odds: float = setting(
        0.85, "Log-odds added to a cell seen not drivable.", low=0.0, high=10.0, runtime=False
    )
    miss_log_odds: float = setting(
        0.4, "Log-odds taken from a cell seen drivable.", low=0.0, high=10.0, runtime=False
    )
    clamp_log_odds: float = setting(
        3.5,
        "Each cell's log-odds stay within [-clamp, clamp], so a change is seen within a few "
        "frames.",
        low=0.01,
        high=50.0,
        runtime=False,
    )
    decay_per_s: float = setting(
        0.2,
        "Log-odds per second of stamp time a cell not observed loses toward 0 (unknown); "
        "0 = never forgotten.",
        low=0.0,
        high=100.0,
        runtime=False,
    )

    def __post_init__(self) -> None:
        check_settings(self)
        cells = self.cells
        if cells * cells > MAX_CELLS:
            raise ConfigError(
                f"local map of {cells}x{cells} cells is too large (max {MAX_CELLS}): raise "
                "local_map.resolution or lower local_map.size_m"
            )
        if self.recentre_m >= self.size_m / 2:
            raise ConfigError(
                f"local_map.recentre_m ({self.recentre_m}) must be below half of "
                f"local_map.size_m ({self.size_m}), or the vehicle leaves its own map"
            )

    @property
    def cells(self) -> int:
        """Cells along each side of the map."""
        return max(1, round(self.size_m / self.resolution))


@dataclass(frozen=True)
class MapWindow:
    """Where the map lies in odom_frame: cell (0, 0)'s corner, cell size and cells per side
    (rows along y, columns along x, as an OccupancyGrid)."""

    x_min: float
    y_min: float
    resolution: float
    cells: int


def object_footprints(objects: GroundObjects | None) -> np.ndarray:
    """[K, 5] (centre x, centre y, heading, length, width) in grid_frame of the located objects:
    each spans its length (size[0]) from its near face's middle (position) through its centre,
    its width (size[1]) across; heading along the bearing where the two points coincide."""
    if objects is None:
        return np.zeros((0, 5))
    keep = objects.valid & np.isfinite(objects.size[:, :2]).all(axis=1)
    centre, offset = objects.centre[keep], objects.centre[keep] - objects.position[keep]
    heading = np.where(
        np.hypot(offset[:, 0], offset[:, 1]) > 0,
        np.arctan2(offset[:, 1], offset[:, 0]),
        objects.bearing[keep],
    )
    length, width = objects.size[keep, 0], objects.size[keep, 1]
    return np.column_stack([centre[:, 0], centre[:, 1], heading, length, width])


def mark_footprints(occupancy: np.ndarray, grid: GridSpec, footprints: np.ndarray) -> np.ndarray:
    """A copy of an int8 ground grid with every cell whose centre lies under a footprint
    (object_footprints) set to not drivable; the grid itself when there is none."""
    if not len(footprints):
        return occupancy
    marked = occupancy.copy()
    res = grid.resolution
    for cx, cy, heading, length, width in footprints:
        reach = math.hypot(length, width) / 2  # the footprint's bounding circle
        c0 = max(0, math.floor((cx - reach - grid.x_min) / res))
        c1 = min(grid.width, math.ceil((cx + reach - grid.x_min) / res))
        r0 = max(0, math.floor((cy - reach - grid.y_min) / res))
        r1 = min(grid.height, math.ceil((cy + reach - grid.y_min) / res))
        if c0 >= c1 or r0 >= r1:
            continue
        xs = grid.x_min + (np.arange(c0, c1) + 0.5) * res - cx
        ys = grid.y_min + (np.arange(r0, r1) + 0.5) * res - cy
        cos, sin = math.cos(heading), math.sin(heading)
        along = xs[None, :] * cos + ys[:, None] * sin
        across = -xs[None, :] * sin + ys[:, None] * cos
        inside = (np.abs(along) <= length / 2) & (np.abs(across) <= width / 2)
        marked[r0:r1, c0:c1][inside] = NOT_DRIVABLE
    return marked


class LocalMap:
    """The fused map of one node (every camera), as log-odds on a window that follows the
    vehicle. Not thread-safe: one thread fuses and reads it."""

    def __init__(self, settings: LocalMapSettings | None = None) -> None:
        self.settings = settings or LocalMapSettings()
        cells = self.settings.cells
        self.log_odds = np.zeros((cells, cells), np.float32)
        self._corner: tuple[int, int] | None = None  # cell (0, 0) in odom's lattice: (col, row)
        self.stamp_ns: int | None = None  # the newest stamp fused

    @property
    def window(self) -> MapWindow | None:
        """Where the map lies in odom_frame; None before the first frame placed it."""
        if self._corner is None:
            return None
        res = self.settings.resolution
        col, row = self._corner
        return MapWindow(col * res, row * res, res, self.settings.cells)

    def fuse(
        self,
        pose: EgoPose,
        stamp_ns: int,
        occupancy: np.ndarray,
        grid: GridSpec,
        objects: GroundObjects | None = None,
    ) -> None:
        """Add one frame's ground grid (int8 [rows, cols] on `grid`, in grid_frame: 0 drivable,
        -1 unseen, other values not drivable) seen from `pose` at `stamp_ns`; cells under the
        footprints of `objects` (located in that frame) count as not drivable."""
        if occupancy.shape != (grid.height, grid.width):
            raise InputError(
                f"ground grid of shape {occupancy.shape} does not match its grid spec "
                f"({grid.height}, {grid.width})"
            )
        self._follow(pose)
        occupancy = mark_footprints(occupancy, grid, object_footprints(objects))
        rows, cols, evidence = self._evidence(pose, occupancy, grid)
        patch = self.log_odds[rows, cols]  # a view: updates land in the map
        observed = evidence != 0
        kept = patch[observed]  # observed cells do not decay
        self._decay(stamp_ns)
        patch[observed] = kept + evidence[observed]
        limit = self.settings.clamp_log_odds
        np.clip(patch, -limit, limit, out=patch)

    def _evidence(
        self, pose: EgoPose, occupancy: np.ndarray, grid: GridSpec
    ) -> tuple[slice, slice, np.ndarray]:
        """The rows and columns of the map the grid covers (its bounding box in odom) and each
        such cell's evidence from the grid cell under its centre (0: none)."""
        res, cells = self.settings.resolution, self.settings.cells
        corners_x = np.array([grid.x_min, grid.x_max, grid.x_max, grid.x_min])
        corners_y = np.array([grid.y_min, grid.y_min, grid.y_max, grid.y_max])
        odom_x, odom_y = pose.to_odom(corners_x, corners_y)
        col0, row0 = self._corner
        c0 = max(0, math.floor(odom_x.min() / res) - col0)
        c1 = min(cells, math.ceil(odom_x.max() / res) - col0)
        r0 = max(0, math.floor(odom_y.min() / res) - row0)
        r1 = min(cells, math.ceil(odom_y.max() / res) - row0)
        rows, cols = slice(r0, max(r0, r1)), slice(c0, max(c0, c1))
        xs = (col0 + np.arange(cols.start, cols.stop) + 0.5) * res
        ys = (row0 + np.arange(rows.start, rows.stop) + 0.5) * res
        grid_x, grid_y = pose.to_grid(xs[None, :], ys[:, None])
        column = np.floor((grid_x - grid.x_min) / grid.resolution).astype(np.int64)
        row = np.floor((grid_y - grid.y_min) / grid.resolution).astype(np.int64)
        inside = (column >= 0) & (column < grid.width) & (row >= 0) & (row < grid.height)
        values = np.full(inside.shape, UNSEEN, np.int8)
        values[inside] = occupancy[row[inside], column[inside]]
        settings = self.settings
        evidence = np.where(values == DRIVABLE, -settings.miss_log_odds, settings.hit_log_odds)
        evidence[values == UNSEEN] = 0.0
        return rows, cols, evidence.astype(np.float32)

    def _decay(self, stamp_ns: int) -> None:
        """Move every cell's log-odds toward 0 by decay_per_s times the stamp time since the
        newest frame fused (none for an older frame of another camera)."""
        if self.stamp_ns is not None and stamp_ns > self.stamp_ns:
            step = self.settings.decay_per_s * (stamp_ns - self.stamp_ns) * 1e-9
            if step > 0:
                self.log_odds -= np.clip(self.log_odds, -step, step)
        self.stamp_ns = stamp_ns if self.stamp_ns is None else max(self.stamp_ns, stamp_ns)

    def _follow(self, pose: EgoPose) -> None:
        """Place the window around the vehicle at the first frame; move it by whole cells,
        keeping the cells both windows hold, once the vehicle strays past recentre_m."""
        res, cells = self.settings.resolution, self.settings.cells
        centred = (math.floor(pose.x / res) - cells // 2, math.floor(pose.y / res) - cells // 2)
        if self._corner is None:
            self._corner = centred
            return
        col, row = self._corner
        centre_x, centre_y = (col + cells / 2) * res, (row + cells / 2) * res
        limit = self.settings.recentre_m
        if abs(pose.x - centre_x) <= limit and abs(pose.y - centre_y) <= limit:
            return
        shift_col, shift_row = centred[0] - col, centred[1] - row
        moved = np.zeros_like(self.log_odds)
        if abs(shift_col) < cells and abs(shift_row) < cells:
            source = self.log_odds[
                max(0, shift_row) : cells + min(0, shift_row),
                max(0, shift_col) : cells + min(0, shift_col),
            ]
            moved[
                max(0, -shift_row) : cells + min(0, -shift_row),
                max(0, -shift_col) : cells + min(0, -shift_col),
            ] = source
        self.log_odds = moved
        self._corner = centred

    def occupancy(self) -> np.ndarray:
        """int8 [cells, cells] OccupancyGrid values: 0..100 the probability of not drivable,
        -1 where the log-odds are 0 (never observed, or decayed back to unknown)."""
        probability = 1.0 / (1.0 + np.exp(-self.log_odds))
        values = np.rint(probability * 100).astype(np.int8)
        values[self.log_odds == 0] = UNKNOWN
        return values
