"""Where ground points lie against the ego lane: their lane index and whether they are in the
vehicle's path.

Points are in grid_frame (REP 103: x forward, y left, metres), the frame of the LaneEstimate's
lines. A lane line is trusted over its seen x range widened by extrapolation_m at both ends
(its fitted curve, extrapolated); beyond that the lanes say nothing there.

- Ego lane at x: its left and right boundary lines where both cover x; where only one does,
  the other lies lane_width_m across from it.
- Lane index: 0 inside the ego lane (boundaries included), +1 the first lane to the left,
  -1 the first to the right, +2 / -2 further out, counted by the boundaries between the point
  and the ego lane: the seen lane lines beyond the ego boundary on that side (from the ego lane
  outwards, each at least min_lane_width_m beyond the last one counted, so a double line counts
  once), then, past the outermost of them, one more per ego-lane width at x. LANE_UNKNOWN where
  no ego boundary covers x, the ego lane's width there is not positive, or the point is not
  finite.
- In path: only ahead (x > 0). The path is the ego lane where it is seen at x, else a corridor
  of corridor_width_m centred on the vehicle's x axis. An object is in it when at least
  min_overlap_m of its width (all of it, when it is narrower) lies between the path's edges;
  a width of 0 makes that "its centre lies inside".
- Boundary index of each lane line (LaneBoundary.boundary_index): +1 and -1 the ego lane's
  left and right boundaries, then outwards +2, +3 ... / -2, -3 ... for the lines counted as
  boundaries by the lane index's rule at one distance ahead; 0 (unknown) for a line not
  counted there (the second line of a double line, a line between a virtual ego boundary and
  the seen one) or not covering that distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, InputError
from ..settings import check_settings, setting
from .lanes import LaneEstimate, LaneLine

LANE_UNKNOWN = -128  # lane index where the lanes do not cover a point (int8, as messages carry)
_MAX_LANE_INDEX = 127


@dataclass(frozen=True)
class PathSettings:
    """How lane geometry is trusted and extended, and the path without it."""

    corridor_width_m: float = setting(
        3.5,
        "Width (m) of the path ahead, centred on the vehicle's x axis, where no lane is seen.",
        low=0.1,
        high=50.0,
    )
    min_overlap_m: float = setting(
        0.5,
        "An object is in the path when this much (m) of its width (all of it, if narrower) lies "
        "inside the path.",
        low=0.0,
        high=10.0,
    )
    lane_width_m: float = setting(
        3.5,
        "Width (m) of the ego lane where only one of its boundaries is seen.",
        low=0.5,
        high=20.0,
    )
    min_lane_width_m: float = setting(
        2.5,
        "A lane line nearer than this (m) to the last lane boundary counted outwards is not "
        "another boundary (a double line).",
        low=0.1,
        high=20.0,
    )
    extrapolation_m: float = setting(
        5.0,
        "Lane lines are used this far (m) beyond their seen range; further, lane indices are "
        "unknown and the path is the corridor.",
        low=0.0,
        high=200.0,
    )

    def __post_init__(self) -> None:
        check_settings(self, "path")
        if self.min_lane_width_m > self.lane_width_m:
            raise ConfigError(
                "path needs min_lane_width_m <= lane_width_m, got "
                f"{self.min_lane_width_m} > {self.lane_width_m}"
            )


def lane_indices(
    xy: np.ndarray, lanes: LaneEstimate | None, settings: PathSettings = PathSettings()
) -> np.ndarray:
    """Lane index int8 [N] of ground points xy [N, 2] (LANE_UNKNOWN where the lanes do not
    cover them)."""
    x, y = _checked_points(xy)
    index = np.full(x.size, LANE_UNKNOWN, np.int8)
    if lanes is None:
        return index
    left, right = _ego_bounds(x, lanes, settings)
    width = left - right
    with np.errstate(invalid="ignore"):
        known = np.isfinite(y) & (width > 0)  # NaN bounds and widths compare False
    if not known.any():
        return index
    x, y, left, right, width = x[known], y[known], left[known], right[known], width[known]
    lines = lanes.lines
    first_left = lanes.left if lanes.left is not None else lanes.right
    first_right = lanes.right if lanes.right is not None else lanes.left
    # lines are ordered left to right: outwards is down the list on the left, up on the right
    outer_left = [_lateral(line, x, settings) - left for line in lines[:first_left][::-1]]
    outer_right = [right - _lateral(line, x, settings) for line in lines[first_right + 1 :]]
    to_left = _lanes_out(y - left, outer_left, width, settings)
    to_right = _lanes_out(right - y, outer_right, width, settings)
    lane = np.clip(to_left - to_right, -_MAX_LANE_INDEX, _MAX_LANE_INDEX)
    index[known] = lane
    return index


def in_path(
    xy: np.ndarray,
    widths: np.ndarray,
    lanes: LaneEstimate | None,
    settings: PathSettings = PathSettings(),
) -> np.ndarray:
    """bool [N]: whether objects at xy [N, 2] with widths [N] (m) are in the path ahead."""
    x, y = _checked_points(xy)
    widths = np.asarray(widths, np.float64)
    if widths.shape != x.shape:
        raise InputError(f"path widths must be [{x.size}], one per point, got {widths.shape}")
    half = 0.5 * settings.corridor_width_m
    left, right = np.full(x.size, half), np.full(x.size, -half)
    if lanes is not None:
        lane_left, lane_right = _ego_bounds(x, lanes, settings)
        seen = np.isfinite(lane_left) & np.isfinite(lane_right)
        left[seen], right[seen] = lane_left[seen], lane_right[seen]
    width = np.where(np.isfinite(widths), np.maximum(widths, 0.0), 0.0)
    overlap = np.minimum(y + 0.5 * width, left) - np.maximum(y - 0.5 * width, right)
    with np.errstate(invalid="ignore"):  # NaN points compare False: not in the path
        return (x > 0) & (overlap >= np.minimum(settings.min_overlap_m, width))


def boundary_indices(
    lanes: LaneEstimate, x: float, settings: PathSettings = PathSettings()
) -> np.ndarray:
    """int8 [L] boundary index of each of lanes.lines, compared at `x` m ahead (module
    docstring); all 0 without an ego boundary."""
    index = np.zeros(len(lanes.lines), np.int8)
    if lanes.left is None and lanes.right is None:
        return index
    at = np.array([float(x)])
    left, right = (float(bound[0]) for bound in _ego_bounds(at, lanes, settings))
    first_left = lanes.left if lanes.left is not None else lanes.right
    first_right = lanes.right if lanes.right is not None else lanes.left
    sides = (
        (+1, lanes.left, range(first_left - 1, -1, -1), lambda y: y - left),
        (-1, lanes.right, range(first_right + 1, len(lanes.lines)), lambda y: right - y),
    )
    for sign, ego, outward, offset_of in sides:
        if ego is not None:
            index[ego] = sign
        last, count = 0.0, 1
        for line in outward:
            offset = offset_of(float(_lateral(lanes.lines[line], at, settings)[0]))
            if offset - last >= settings.min_lane_width_m:  # False for NaN: not covering x
                count = min(count + 1, _MAX_LANE_INDEX)
                index[line], last = sign * count, offset
    return index


def _checked_points(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y float64 [N] of points [N, 2], or InputError."""
    xy = np.asarray(xy, np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InputError(f"path points must be [N, 2] (x, y), got shape {xy.shape}")
    return xy[:, 0], xy[:, 1]


def _lateral(line: LaneLine, x: np.ndarray, settings: PathSettings) -> np.ndarray:
    """y of a lane line at x, NaN where x lies beyond its seen range by over extrapolation_m."""
    reach = settings.extrapolation_m
    covered = (x >= line.x_min - reach) & (x <= line.x_max + reach)
    return np.where(covered, line.lateral_at(x), np.nan)


def _ego_bounds(
    x: np.ndarray, lanes: LaneEstimate, settings: PathSettings
) -> tuple[np.ndarray, np.ndarray]:
    """The ego lane's left and right boundary y at x (NaN where no boundary covers x); a
    boundary seen alone puts the other lane_width_m across from it."""
    nothing = np.full(x.size, np.nan)
    left = nothing if lanes.left is None else _lateral(lanes.lines[lanes.left], x, settings)
    right = nothing if lanes.right is None else _lateral(lanes.lines[lanes.right], x, settings)
    width = settings.lane_width_m
    return np.where(np.isnan(left), right + width, left), np.where(
        np.isnan(right), left - width, right
    )


def _lanes_out(
    offset: np.ndarray, outer: list[np.ndarray], width: np.ndarray, settings: PathSettings
) -> np.ndarray:
    """Lanes between the ego lane and points `offset` m beyond one ego boundary (0 where the
    offset is not positive), with the boundaries beyond it at offsets `outer` (one array per
    lane line, from the ego lane outwards, NaN where unseen)."""
    last = np.zeros(offset.size)  # offset of the outermost boundary counted so far
    lanes = (offset > 0).astype(np.int64)
    for line in outer:
        with np.errstate(invalid="ignore"):
            counted = line - last >= settings.min_lane_width_m
        lanes += counted & (line < offset)
        last = np.where(counted, line, last)
    beyond = np.floor(np.maximum(offset - last, 0.0) / width).astype(np.int64)
    return np.where(offset > 0, lanes + beyond, 0)
