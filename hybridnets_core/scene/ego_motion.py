"""The vehicle's 2D pose in odom over time: where grid_frame stood in odom_frame at each image
stamp, from TF or from an odometry stream, so that anything accumulated over frames (the local
map) can be kept in odom (REP 105).

A pose is (x, y, yaw) of grid_frame in odom_frame: the ground outputs live on z = 0 of
grid_frame, so roll, pitch and height do not enter. `PoseHistory` keeps recent odometry poses
by stamp and gives the pose at an image stamp, interpolated between the samples around it.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, InputError
from ..settings import check_settings, group, setting

HISTORY_CAPACITY = 2000  # odometry samples kept: 20 s at 100 Hz, longer than any frame's latency


def wrap_angle(angle: float) -> float:
    """`angle` (rad) in [-pi, pi)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


@dataclass(frozen=True)
class EgoPose:
    """Pose of grid_frame in odom_frame: position (m) and heading (rad, counter-clockwise from
    odom's +x); p_odom = R(yaw) @ p_grid + (x, y)."""

    x: float
    y: float
    yaw: float

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.x, self.y, self.yaw)):
            raise InputError(f"ego pose must be finite, got ({self.x}, {self.y}, {self.yaw})")

    @classmethod
    def from_transform(
        cls, translation: Sequence[float], quaternion_xyzw: Sequence[float]
    ) -> EgoPose:
        """The 2D pose of a 3D transform (grid_frame in odom_frame): its x, y and its heading,
        the yaw of its rotation's x axis projected on the ground."""
        x, y, z, w = (float(v) for v in quaternion_xyzw)
        norm = math.sqrt(x * x + y * y + z * z + w * w)
        if not (math.isfinite(norm) and norm > 1e-9):
            raise InputError(f"ego pose quaternion is not usable: {list(quaternion_xyzw)}")
        x, y, z, w = x / norm, y / norm, z / norm, w / norm
        yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
        return cls(float(translation[0]), float(translation[1]), yaw)

    def interpolate(self, other: EgoPose, fraction: float) -> EgoPose:
        """The pose `fraction` of the way to `other`: linear in x and y, along the shorter arc
        in yaw (so +179 deg to -179 deg passes through 180, not 0)."""
        turn = wrap_angle(other.yaw - self.yaw)
        return EgoPose(
            self.x + fraction * (other.x - self.x),
            self.y + fraction * (other.y - self.y),
            wrap_angle(self.yaw + fraction * turn),
        )

    def to_odom(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points (x, y) in grid_frame as points in odom_frame."""
        cos, sin = math.cos(self.yaw), math.sin(self.yaw)
        return self.x + cos * x - sin * y, self.y + sin * x + cos * y

    def to_grid(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points (x, y) in odom_frame as points in grid_frame (the inverse of `to_odom`)."""
        cos, sin = math.cos(self.yaw), math.sin(self.yaw)
        dx, dy = x - self.x, y - self.y
        return cos * dx + sin * dy, -sin * dx + cos * dy


@dataclass(frozen=True)
class EgoTwist:
    """The vehicle's motion over the ground at an instant, in grid_frame's axes: the velocity
    (m/s) of grid_frame's origin and the yaw rate (rad/s, counter-clockwise)."""

    vx: float
    vy: float
    yaw_rate: float

    @classmethod
    def between(cls, before: EgoPose, after: EgoPose, dt_s: float) -> EgoTwist:
        """The motion from `before` to `after`, `dt_s` seconds later, in the vehicle's own axes
        (which a steady turn keeps constant: there the chord runs along the mean heading)."""
        if not (math.isfinite(dt_s) and dt_s > 0):
            raise InputError(f"ego motion needs poses a positive time apart, got {dt_s} s")
        turn = wrap_angle(after.yaw - before.yaw)
        heading = before.yaw + turn / 2
        dx, dy = after.x - before.x, after.y - before.y
        cos, sin = math.cos(heading), math.sin(heading)
        return cls((cos * dx + sin * dy) / dt_s, (-sin * dx + cos * dy) / dt_s, turn / dt_s)

    def over_ground(self, position: np.ndarray, relative_velocity: np.ndarray) -> np.ndarray:
        """Velocities [N, 2] over the ground, in grid_frame's axes, of points at `position`
        [N, 2] (grid_frame) whose velocity seen from the moving, turning vehicle frame is
        `relative_velocity` [N, 2]: v = v_rel + v_ego + yaw_rate x r."""
        position = np.asarray(position, dtype=np.float64).reshape(-1, 2)
        turning = self.yaw_rate * np.column_stack([-position[:, 1], position[:, 0]])
        own = np.array([self.vx, self.vy])
        return np.asarray(relative_velocity, np.float64) + own + turning


@dataclass(frozen=True)
class OdometrySettings:
    """Where ego poses come from when TF has none: a nav_msgs/Odometry topic."""

    odometry_topic: str = setting(
        "",
        "nav_msgs/Odometry topic giving grid_frame's pose in odom_frame, used where TF has no "
        "odom_frame <- grid_frame transform (or no tf2_ros); empty = none.",
        runtime=False,
    )
    odometry_tolerance: float = setting(
        0.1,
        "Largest gap (s) between an image stamp and the odometry samples its pose is "
        "interpolated from (or the one it is taken from, at either end).",
        low=0.0,
        high=10.0,
        runtime=False,
    )

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class EgoSettings:
    """The odom frame anything accumulated over time lives in, and the odometry fallback."""

    odom_frame: str = setting(
        "odom", "Frame of ~/local_map; the vehicle's pose in it comes from TF or odometry.",
        runtime=False,
    )  # fmt: skip
    odometry: OdometrySettings = group(OdometrySettings, "ego.")

    def __post_init__(self) -> None:
        check_settings(self)
        if not self.odom_frame:
            raise ConfigError("odom_frame must name a frame (e.g. odom), got ''")


class PoseHistory:
    """Recent ego poses by stamp (ns), to give the pose at an image stamp. Thread-safe: odometry
    arrives on another thread than the frames that read it."""

    def __init__(self, tolerance_ns: int, capacity: int = HISTORY_CAPACITY) -> None:
        if tolerance_ns < 0 or capacity < 2:
            raise ConfigError(
                f"pose history needs tolerance >= 0 and capacity >= 2, got {tolerance_ns} ns "
                f"and {capacity}"
            )
        self.tolerance_ns = int(tolerance_ns)
        self.capacity = int(capacity)
        self._stamps: list[int] = []
        self._poses: list[EgoPose] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._stamps)

    def add(self, stamp_ns: int, pose: EgoPose) -> None:
        """Keep `pose` for `stamp_ns` (replacing one at the same stamp); drop the oldest."""
        with self._lock:
            index = bisect.bisect_left(self._stamps, stamp_ns)
            if index < len(self._stamps) and self._stamps[index] == stamp_ns:
                self._poses[index] = pose
                return
            self._stamps.insert(index, stamp_ns)
            self._poses.insert(index, pose)
            if len(self._stamps) > self.capacity:
                del self._stamps[0], self._poses[0]

    def at(self, stamp_ns: int) -> EgoPose | None:
        """The pose at `stamp_ns`: interpolated between the samples just before and after it
        when both lie within the tolerance; else the nearer sample within the tolerance (at
        the ends of the history: never extrapolated further); else None."""
        with self._lock:
            index = bisect.bisect_left(self._stamps, stamp_ns)
            if index < len(self._stamps) and self._stamps[index] == stamp_ns:
                return self._poses[index]
            near = [
                i
                for i in (index - 1, index)
                if 0 <= i < len(self._stamps)
                and abs(self._stamps[i] - stamp_ns) <= self.tolerance_ns
            ]
            if len(near) == 2:
                before, after = near
                span = self._stamps[after] - self._stamps[before]
                fraction = (stamp_ns - self._stamps[before]) / span
                return self._poses[before].interpolate(self._poses[after], fraction)
            return self._poses[near[0]] if near else None
