"""Kinematics of a synthetic drive: how each vehicle moves along and across its road, and where
the ego vehicle stands in odom, in closed form of the time since the drive's start.

Road frame: distance along the road ahead of the camera and lateral position (m, positive to
the right) as the renderer places things (synth.camera.Projector). The ego car drives along its
lane at a constant speed while its lateral offset sways; the road's curvature (1/m, positive
bends right) follows a slow sine, so the ego car turns at -curvature * speed (REP 103: yaw is
counter-clockwise). odom is the ego pose at the first frame (grid_frame, x forward, y left).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SWING_PERIOD_S = 8.0  # period of a vehicle's speed oscillation (a braking lead)
POSE_STEP_S = 0.002  # integration step of the ego position


def _smooth_step(t: float, start: float, duration: float) -> tuple[float, float]:
    """Half-cosine ramp from 0 to 1 over [start, start + duration] and its rate (1/s)."""
    u = min(max((t - start) / duration, 0.0), 1.0)
    rate = math.pi / (2 * duration) * math.sin(math.pi * u) if 0.0 < u < 1.0 else 0.0
    return (1 - math.cos(math.pi * u)) / 2, rate


@dataclass(frozen=True)
class VehicleMotion:
    """One vehicle's motion: speed along the road (m/s, negative: oncoming) oscillating by
    `swing` (speed - swing * sin(2 pi t / SWING_PERIOD_S)), and a lateral move of `shift_m`
    (road frame, + right) over [shift_start_s, shift_start_s + shift_s] (a lane change)."""

    speed: float
    swing: float = 0.0
    shift_m: float = 0.0
    shift_start_s: float = 0.0
    shift_s: float = 1.0

    def speed_at(self, t: float) -> float:
        """Speed along the road (m/s) at time t."""
        return self.speed - self.swing * math.sin(2 * math.pi * t / SWING_PERIOD_S)

    def travelled(self, t: float) -> float:
        """Distance (m) travelled along the road since t = 0."""
        omega = 2 * math.pi / SWING_PERIOD_S
        return self.speed * t - self.swing / omega * (1 - math.cos(omega * t))

    def shift(self, t: float) -> tuple[float, float]:
        """Lateral displacement (m, + right) since t = 0 and its rate (m/s)."""
        fraction, rate = _smooth_step(t, self.shift_start_s, self.shift_s)
        return self.shift_m * fraction, self.shift_m * rate


@dataclass(frozen=True)
class RoadMotion:
    """The ego car and its road over time: ego speed (m/s), curvature kappa0 + amplitude *
    sin(2 pi t / period + phase), the camera's lateral offset o0 + sway * sin(2 pi t /
    sway_period) in its lane, and the camera's yaw relative to the road (rad, + right)."""

    ego_speed: float
    curvature: float
    curve_amplitude: float
    curve_period_s: float
    curve_phase: float
    offset_m: float
    sway_m: float
    sway_period_s: float
    yaw_rad: float

    def curvature_at(self, t: float) -> tuple[float, float]:
        """The road's curvature (1/m) at time t and its rate (1/(m s))."""
        omega = 2 * math.pi / self.curve_period_s
        angle = omega * t + self.curve_phase
        return (
            self.curvature + self.curve_amplitude * math.sin(angle),
            self.curve_amplitude * omega * math.cos(angle),
        )

    def offset_at(self, t: float) -> tuple[float, float]:
        """The camera's offset right of its lane centre (m) at time t and its rate (m/s)."""
        omega = 2 * math.pi / self.sway_period_s
        return (
            self.offset_m + self.sway_m * math.sin(omega * t),
            self.sway_m * omega * math.cos(omega * t),
        )

    def _road_heading(self, t: np.ndarray) -> np.ndarray:
        """Heading (rad) in odom of the road under the ego car: the integral of the yaw rate
        -curvature * speed, from the camera's own heading at t = 0."""
        omega = 2 * math.pi / self.curve_period_s
        phase = self.curve_phase
        bent = self.curvature * t + self.curve_amplitude / omega * (
            math.cos(phase) - np.cos(omega * t + phase)
        )
        return -math.atan(self.yaw_rad) - self.ego_speed * bent

    def _velocity_odom(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ego car's velocity in odom (m/s): its speed along the road plus its sway."""
        heading = self._road_heading(t)
        sway = self.sway_m * 2 * math.pi / self.sway_period_s
        rate = sway * np.cos(2 * math.pi * t / self.sway_period_s)
        # the road's right-hand normal is (sin h, -cos h)
        vx = self.ego_speed * np.cos(heading) + rate * np.sin(heading)
        vy = self.ego_speed * np.sin(heading) - rate * np.cos(heading)
        return vx, vy

    def ego_state(self, t: float) -> EgoState:
        """The ego pose in odom and its velocity at time t (position integrated by the
        trapezoid rule at POSE_STEP_S; heading and velocity in closed form)."""
        steps = max(1, math.ceil(t / POSE_STEP_S))
        times = np.linspace(0.0, t, steps + 1)
        vx, vy = self._velocity_odom(times)
        dt = t / steps
        x = float(np.sum(vx[1:] + vx[:-1]) * dt / 2)
        y = float(np.sum(vy[1:] + vy[:-1]) * dt / 2)
        yaw = float(self._road_heading(np.array(t))) + math.atan(self.yaw_rad)
        cos, sin = math.cos(yaw), math.sin(yaw)
        ovx, ovy = (float(v[-1]) for v in (vx, vy))
        kappa, _ = self.curvature_at(t)
        return EgoState(
            x=x,
            y=y,
            yaw=math.atan2(math.sin(yaw), math.cos(yaw)),
            vx=cos * ovx + sin * ovy,
            vy=-sin * ovx + cos * ovy,
            yaw_rate=-kappa * self.ego_speed,
        )


@dataclass(frozen=True)
class EgoState:
    """The ego vehicle (grid_frame) in odom: pose (m, rad) and velocity (m/s, in grid_frame
    axes) with yaw rate (rad/s), as nav_msgs/Odometry carries them."""

    x: float
    y: float
    yaw: float
    vx: float
    vy: float
    yaw_rate: float
