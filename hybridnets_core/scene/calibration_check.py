"""Is the configured camera pose still right? Pitch and height estimated from the ego lane.

On a flat road the ego lane's two boundaries are parallel. Placed on the ground with a pitch
that is off, they are not: every ground point moves along its viewing ray, far points by more
than near ones, so the lane widens (camera pitched down more than configured) or narrows with
range. The pitch error is the rotation of the camera about its own lateral axis (optical x)
that makes the two boundaries parallel again: each boundary point is turned back into its
viewing ray, the ray rotated, put on the ground again, and the slopes of straight fits to the
two boundaries compared; the rotation that equalises them is found by bisection. Curved lanes
stay parallel too, so curves do not bias it much; frames where the boundaries cannot be made
parallel within the search range give nothing.

With the pitch corrected, every ground distance scales with the camera height: where the lane
width is known (or assumed), height = configured height x known width / measured width.

`CalibrationMonitor` keeps the per-frame estimates of a window and reports their medians.
Positive pitch error: the camera looks further down than configured.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..settings import check_settings, setting
from .ground import CameraPose, OpticalPose, as_optical_pose
from .lanes import LaneEstimate

SEARCH_RAD = math.radians(6.0)  # largest pitch error looked for, either way
BISECTIONS = 24  # halvings of the 12 deg search range: below 0.000001 deg
BOUNDARY_BAND_M = 0.4  # lane points this close to a boundary's fitted curve belong to it


@dataclass(frozen=True)
class CalibrationCheckSettings:
    """The lane the estimate reads and when an estimate counts as the pose being off."""

    lane_width_m: float = setting(
        3.5,
        "The ego lane's real width (m), for the height estimate; 0: unknown (no height).",
        low=0.0,
        high=10.0,
    )
    near_m: float = setting(
        6.0, "Boundary points nearer than this (m) are not used.", low=0.0, high=100.0
    )
    far_m: float = setting(
        40.0, "Boundary points farther than this (m) are not used.", low=1.0, high=200.0
    )
    window: int = setting(60, "Frames whose estimates are pooled (median).", low=1, high=100000)
    min_frames: int = setting(
        20, "Fewest frame estimates in the window before it judges.", low=1, high=100000
    )
    pitch_tolerance_deg: float = setting(
        0.5, "Pitch error (deg) above which the pose is reported off.", low=0.0, high=45.0
    )
    height_tolerance_m: float = setting(
        0.1, "Height error (m) above which the pose is reported off.", low=0.0, high=10.0
    )
    every_n_frames: int = setting(
        10,
        "Estimate from every Nth frame (the estimate, plus a lane fit where no output fitted "
        "the lanes: about 10 ms on a CPU core); 0: off.",
        low=0,
        high=100000,
    )

    def __post_init__(self) -> None:
        check_settings(self, "calibration")


@dataclass(frozen=True)
class FrameEstimate:
    """One frame's estimate: pitch error (rad) and the height (m; None without a lane width)."""

    pitch_error_rad: float
    height_m: float | None


def estimate_frame(
    lanes: LaneEstimate | None,
    pose: CameraPose | OpticalPose,
    settings: CalibrationCheckSettings = CalibrationCheckSettings(),
    points: np.ndarray | None = None,
) -> FrameEstimate | None:
    """The pitch error and height implied by one frame's ego lane, placed on the ground with
    `pose`; None where the frame has no ego lane with both boundaries in range, or the
    boundaries cannot be made parallel within the search range. `points` [N, 2+], the lane
    mask's ground points the lanes were fitted to, make it exact where the pose is far off
    (each boundary's own points are moved, not the fitted curve, which bends with the error);
    without them the boundaries' polylines stand in for them."""
    if lanes is None or lanes.ego.left is None or lanes.ego.right is None:
        return None
    optical = as_optical_pose(pose)
    left = _boundary_points(lanes.ego.left, points, settings)
    right = _boundary_points(lanes.ego.right, points, settings)
    if len(left) < 3 or len(right) < 3:
        return None
    rays = [_rays(points, optical) for points in (left, right)]
    angle = _parallel_angle(rays, optical)
    if angle is None:
        return None
    # once more with the points in range after the correction: a pose pitched down too far
    # puts even the farthest points (near the horizon, the least certain) within range
    rays = [r[_ahead(_on_ground(r, optical, angle), settings)] for r in rays]
    angle = _parallel_angle(rays, optical) if min(len(r) for r in rays) >= 3 else None
    if angle is None:
        return None
    height = None
    if settings.lane_width_m > 0:
        placed = [_on_ground(r, optical, angle) for r in rays]
        middle = float(np.nanmedian(np.concatenate(placed)[:, 0]))
        (left_a, left_b), (right_a, right_b) = (_line(p) for p in placed)
        width = (left_a - right_a) + (left_b - right_b) * middle
        if width > 0:
            height = optical.height * settings.lane_width_m / width
    return FrameEstimate(angle, height)


def _parallel_angle(rays: list[np.ndarray], optical: OpticalPose) -> float | None:
    """The turn (rad) that makes straight fits to the two boundaries' points parallel, by
    bisection over +-SEARCH_RAD; None where their slopes do not cross there."""

    def slope_gap(angle: float) -> float:
        fits = [_line(_on_ground(r, optical, angle)) for r in rays]
        return fits[0][1] - fits[1][1]

    low, high = -SEARCH_RAD, SEARCH_RAD
    gap_low, gap_high = slope_gap(low), slope_gap(high)
    if not (np.isfinite(gap_low) and np.isfinite(gap_high)) or gap_low * gap_high > 0:
        return None
    for _ in range(BISECTIONS):
        middle = 0.5 * (low + high)
        gap = slope_gap(middle)
        if gap * gap_low > 0:
            low, gap_low = middle, gap
        else:
            high = middle
    return 0.5 * (low + high)


def _ahead(points: np.ndarray, settings: CalibrationCheckSettings) -> np.ndarray:
    """bool [N]: ground points within [near_m, far_m] ahead (False for NaN)."""
    return (points[:, 0] >= settings.near_m) & (points[:, 0] <= settings.far_m)


def _boundary_points(
    polyline: np.ndarray, points: np.ndarray | None, settings: CalibrationCheckSettings
) -> np.ndarray:
    """The (x, y) points of one boundary within [near_m, far_m] ahead: the lane points within
    BOUNDARY_BAND_M of its polyline, or the polyline's own samples without points."""
    line = np.asarray(polyline, dtype=np.float64)[:, :2]
    chosen = line if points is None else np.asarray(points, dtype=np.float64)[:, :2]
    keep = _ahead(chosen, settings)
    if points is not None:
        keep &= (chosen[:, 0] >= line[0, 0]) & (chosen[:, 0] <= line[-1, 0])
        lateral = np.interp(chosen[:, 0], line[:, 0], line[:, 1])
        keep &= np.abs(chosen[:, 1] - lateral) <= BOUNDARY_BAND_M
    return chosen[keep]


def _rays(points: np.ndarray, pose: OpticalPose) -> np.ndarray:
    """Viewing rays [N, 3] in the camera's optical frame through ground points [N, 2]."""
    offset = np.column_stack([points, np.zeros(len(points))]) - pose.position
    return offset @ pose.rotation_matrix()  # R^T applied to each row: grid -> optical


def _on_ground(rays: np.ndarray, pose: OpticalPose, angle: float) -> np.ndarray:
    """Ground points [N, 2] of optical-frame rays after turning the camera down by `angle`
    (rad) about its lateral axis; NaN where a ray no longer meets the ground ahead."""
    c, s = math.cos(angle), math.sin(angle)
    # optical y points down, z forward: turning down moves z towards +y
    x, y, z = rays[:, 0], rays[:, 1], rays[:, 2]
    turned = np.column_stack([x, c * y + s * z, -s * y + c * z])
    in_grid = turned @ pose.rotation_matrix().T
    origin = np.asarray(pose.position, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(in_grid[:, 2] < 0, -origin[2] / in_grid[:, 2], np.nan)
    return origin[:2] + t[:, None] * in_grid[:, :2]


def _line(points: np.ndarray) -> tuple[float, float]:
    """Intercept and slope of the least-squares line y = a + b x; NaN when undefined."""
    ok = np.isfinite(points).all(axis=1)
    if ok.sum() < 2:
        return math.nan, math.nan
    x, y = points[ok, 0], points[ok, 1]
    dx = x - x.mean()
    spread = float(dx @ dx)
    if spread <= 0:
        return math.nan, math.nan
    slope = float(dx @ (y - y.mean())) / spread  # closed form: the bisection calls this often
    return float(y.mean() - slope * x.mean()), slope


@dataclass(frozen=True)
class CalibrationReport:
    """The window's medians: pitch error (deg), height (m, None when unknown) against the
    configured one, frames that gave an estimate, and what is off (empty: nothing)."""

    pitch_error_deg: float | None
    height_m: float | None
    configured_height_m: float
    frames: int
    problems: tuple[str, ...]


class CalibrationMonitor:
    """Per-frame estimates over a window of frames, judged against the configured pose."""

    def __init__(self, settings: CalibrationCheckSettings | None = None) -> None:
        self.settings = settings or CalibrationCheckSettings()
        self._pitch: deque[float] = deque(maxlen=self.settings.window)
        self._height: deque[float] = deque(maxlen=self.settings.window)
        self._configured_height = math.nan

    def add(
        self,
        lanes: LaneEstimate | None,
        pose: CameraPose | OpticalPose,
        points: np.ndarray | None = None,
    ) -> None:
        """Add one frame's estimate (frames without one are skipped); `points` as for
        `estimate_frame`."""
        estimate = estimate_frame(lanes, pose, self.settings, points)
        self._configured_height = as_optical_pose(pose).height
        if estimate is None:
            return
        self._pitch.append(estimate.pitch_error_rad)
        if estimate.height_m is not None:
            self._height.append(estimate.height_m)

    def report(self) -> CalibrationReport:
        """Medians of the window and what they say is off (once min_frames estimates are in)."""
        settings, frames = self.settings, len(self._pitch)
        if not frames:
            return CalibrationReport(None, None, self._configured_height, 0, ())
        pitch = math.degrees(float(np.median(self._pitch)))
        height = float(np.median(self._height)) if self._height else None
        problems: list[str] = []
        if frames >= settings.min_frames:
            if abs(pitch) > settings.pitch_tolerance_deg:
                problems.append(
                    f"camera pitch looks {abs(pitch):.2f} deg "
                    f"{'further down' if pitch > 0 else 'further up'} than configured"
                )
            configured = self._configured_height
            if height is not None and abs(height - configured) > settings.height_tolerance_m:
                problems.append(
                    f"camera height looks {height:.2f} m, configured {configured:.2f} m"
                )
        return CalibrationReport(pitch, height, self._configured_height, frames, tuple(problems))
