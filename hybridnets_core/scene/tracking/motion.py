"""Constant-velocity Kalman filters, vectorised over all tracks of a frame.

Both filters use the continuous white-noise acceleration model: between two frames dt seconds
apart, position += velocity * dt and an acceleration of spectral density q adds
q * [[dt^3/3, dt^2/2], [dt^2/2, dt]] to each axis' (position, velocity) covariance. The real
frame interval enters through dt, so dropped frames and jittered stamps need no special case.

`BoxFilter` runs on the image box (cx, cy, w, h), each coordinate an independent (position,
velocity) pair: with diagonal measurement noise the covariance stays block-diagonal, so the
whole update is closed-form element-wise arithmetic. Noise scales with the box size (x-axis
terms with the width, y-axis terms with the height), so near and far objects are treated alike.

`GroundFilter` runs on (x, y, vx, vy) in the vehicle frame with the full 4x4 covariance, since
the given 2x2 measurement covariance of a ground position couples x and y (the range error lies
along the viewing ray).
"""

from __future__ import annotations

import numpy as np

from ...decoding.boxes import geometry_to_boxes

MIN_BOX_SIZE = 1.0  # pixels; a coasting box whose size shrinks is held at this
# where the (x, y, vx, vy) process noise terms of positions, position-velocity and velocities go
_POSITION = np.diag([1.0, 1.0, 0.0, 0.0])
_VELOCITY = np.diag([0.0, 0.0, 1.0, 1.0])
_CROSS = np.eye(4, k=2) + np.eye(4, k=-2)


def _box_scale(cxcywh: np.ndarray) -> np.ndarray:
    """Per-coordinate noise scale [N, 4]: width for cx and w, height for cy and h."""
    return cxcywh[:, [2, 3, 2, 3]]


class BoxFilter:
    """Image boxes as four independent constant-velocity axes.

    State per track: `mean` [T, 4, 2] (coordinate, (position, velocity)) and `cov` [T, 4, 3]
    holding each axis' 2x2 covariance as (var_pos, cov_pos_vel, var_vel).
    """

    def __init__(
        self,
        position_accel: float,
        size_accel: float,
        measurement_std: float,
        initial_velocity_std: float,
    ) -> None:
        # relative to the box size: accelerations in sizes/s^2, noise in sizes, velocity in sizes/s
        self.accel = np.array([position_accel, position_accel, size_accel, size_accel])
        self.measurement_std = measurement_std
        self.initial_velocity_std = initial_velocity_std

    def initiate(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """State of new tracks from their first (cx, cy, w, h) boxes: at rest, velocity widely
        uncertain."""
        scale = _box_scale(boxes)
        mean = np.zeros((len(boxes), 4, 2))
        mean[:, :, 0] = boxes
        cov = np.zeros((len(boxes), 4, 3))
        cov[:, :, 0] = (self.measurement_std * scale) ** 2
        cov[:, :, 2] = (self.initial_velocity_std * scale) ** 2
        return mean, cov

    def predict(self, mean: np.ndarray, cov: np.ndarray, dt: float) -> None:
        """Advance every track by dt seconds, in place."""
        if dt <= 0.0 or not len(mean):
            return
        q = (self.accel * _box_scale(mean[:, :, 0])) ** 2
        p00, p01, p11 = cov[:, :, 0], cov[:, :, 1], cov[:, :, 2]
        mean[:, :, 0] += dt * mean[:, :, 1]
        np.maximum(mean[:, 2:, 0], MIN_BOX_SIZE, out=mean[:, 2:, 0])
        p00 += (2.0 * dt) * p01 + (dt * dt) * p11 + (dt**3 / 3.0) * q  # p01, p11 still old
        p01 += dt * p11 + (dt * dt / 2.0) * q
        p11 += dt * q

    def update(self, mean: np.ndarray, cov: np.ndarray, rows: np.ndarray, z: np.ndarray) -> None:
        """Fuse measured (cx, cy, w, h) boxes into tracks `rows`, in place."""
        if not len(rows):
            return
        r = (self.measurement_std * _box_scale(z)) ** 2
        m, p = mean[rows], cov[rows]
        p00, p01, p11 = p[:, :, 0], p[:, :, 1], p[:, :, 2]
        innovation_var = p00 + r
        gain_pos, gain_vel = p00 / innovation_var, p01 / innovation_var
        innovation = z - m[:, :, 0]
        m[:, :, 0] += gain_pos * innovation
        m[:, :, 1] += gain_vel * innovation
        p11 -= gain_vel * p01  # before p01 changes (p00, p01, p11 are views into p)
        p[:, :, :2] *= (1.0 - gain_pos)[:, :, None]
        mean[rows], cov[rows] = m, p

    @staticmethod
    def boxes(mean: np.ndarray) -> np.ndarray:
        """Current (x1, y1, x2, y2) boxes [T, 4] of the states."""
        return geometry_to_boxes(mean[:, :, 0])


class GroundFilter:
    """Ground positions and velocities (x, y, vx, vy) in the vehicle frame, metres and m/s.

    State per track: `mean` [T, 4] and `cov` [T, 4, 4]. Measurements are positions with their
    own 2x2 covariance, so a far object's range uncertainty weighs in as the caller gives it.
    """

    def __init__(self, accel_std: float, initial_velocity_std: float) -> None:
        self.q = accel_std**2
        self.initial_velocity_var = initial_velocity_std**2

    def initiate(self, xy: np.ndarray, xy_cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """State from first measurements: at the measured position, velocity unknown."""
        mean = np.concatenate([xy, np.zeros_like(xy)], axis=1)
        cov = np.zeros((len(xy), 4, 4))
        cov[:, :2, :2] = xy_cov
        cov[:, 2, 2] = cov[:, 3, 3] = self.initial_velocity_var
        return mean, cov

    def predict(self, mean: np.ndarray, cov: np.ndarray, dt: float) -> None:
        """Advance every track by dt seconds, in place."""
        if dt <= 0.0 or not len(mean):
            return
        transition = np.eye(4)
        transition[0, 2] = transition[1, 3] = dt
        process = self.q * (dt**3 / 3.0 * _POSITION + dt**2 / 2.0 * _CROSS + dt * _VELOCITY)
        mean[:, :2] += dt * mean[:, 2:]
        cov[:] = transition @ cov @ transition.T + process

    @staticmethod
    def update(
        mean: np.ndarray, cov: np.ndarray, rows: np.ndarray, xy: np.ndarray, xy_cov: np.ndarray
    ) -> None:
        """Fuse measured positions (with covariances [K, 2, 2]) into tracks `rows`, in place."""
        if not len(rows):
            return
        m, p = mean[rows], cov[rows]
        # gain K = P H^T S^-1 with S symmetric, so K^T = S^-1 H P: one batched solve
        gain_t = np.linalg.solve(p[:, :2, :2] + xy_cov, p[:, :2, :])  # [K, 2, 4]
        m += ((xy - m[:, :2])[:, None, :] @ gain_t)[:, 0, :]
        p -= gain_t.transpose(0, 2, 1) @ p[:, :2, :]
        mean[rows], cov[rows] = m, 0.5 * (p + p.transpose(0, 2, 1))
