"""Ego-lane metrics over a stream of frames: lateral error at fixed distances and found rate.

Both prediction and truth are EgoLane polylines in the vehicle frame (x forward, y left).
A polyline is read at a distance x by linear interpolation and only where it reaches x
(no extrapolation), so a line seen to 25 m has no error at 30 m: that counts as missed.

- lateral_error_m[d]: median over frames of |predicted y - true y| at x = d, left and right
  boundaries pooled (per side and for the centre line reported too), over the frames where
  both reach d. p90 alongside.
- ego_lane_found_rate: among frames whose true ego lane has both boundaries reaching the
  first distance, the share where both predicted boundaries reach it too and, at every
  distance both the prediction and the truth reach, lie within tolerance_m of the truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..scene.lanes import EgoLane

DISTANCES_M = (10.0, 20.0, 30.0)
TOLERANCE_M = 0.5
SIDES = ("left", "right")


def lateral_at(polyline: np.ndarray | None, x: float) -> float | None:
    """y of a polyline [M, >= 2] (x ascending) at x, or None when it does not reach x."""
    if polyline is None or len(polyline) == 0:
        return None
    xs = polyline[:, 0]
    if not xs[0] <= x <= xs[-1]:
        return None
    return float(np.interp(x, xs, polyline[:, 1]))


def _distance_key(distance: float) -> str:
    """JSON key of a distance: '10' for 10.0 m, '12.5' for 12.5 m."""
    return f"{distance:g}"


class LaneAccumulator:
    """Collects per-frame ego-lane errors; summary() gives the JSON-ready metrics."""

    def __init__(
        self, distances: tuple[float, ...] = DISTANCES_M, tolerance_m: float = TOLERANCE_M
    ) -> None:
        if not distances or any(not d > 0 for d in distances):
            raise ConfigError(f"lane metric distances must be > 0 m, got {distances}")
        if not tolerance_m > 0:
            raise ConfigError(f"lane tolerance must be > 0 m, got {tolerance_m}")
        self.distances = tuple(float(d) for d in distances)
        self.tolerance_m = float(tolerance_m)
        self.frames = 0
        self.ego_frames = 0
        self.found = 0
        parts = (*SIDES, "center")
        self.errors: dict[str, dict[float, list[float]]] = {
            part: {d: [] for d in self.distances} for part in parts
        }
        self.missed: dict[str, dict[float, int]] = {
            part: dict.fromkeys(self.distances, 0) for part in parts
        }

    def update(self, predicted: EgoLane, truth: EgoLane) -> None:
        """Add one frame's predicted and true ego lane."""
        self.frames += 1
        within = True
        for part in (*SIDES, "center"):
            for d in self.distances:
                true_y = lateral_at(getattr(truth, part), d)
                if true_y is None:
                    continue
                pred_y = lateral_at(getattr(predicted, part), d)
                if pred_y is None:
                    self.missed[part][d] += 1
                    continue
                error = abs(pred_y - true_y)
                self.errors[part][d].append(error)
                if part in SIDES:
                    within &= error <= self.tolerance_m
        first = self.distances[0]
        if all(lateral_at(getattr(truth, side), first) is not None for side in SIDES):
            self.ego_frames += 1
            reach = all(lateral_at(getattr(predicted, side), first) is not None for side in SIDES)
            self.found += int(reach and within)

    def summary(self) -> dict[str, Any]:
        """Medians and p90s in metres per distance (None without samples), rate and counts."""

        def stat(values: list[float], q: float) -> float | None:
            return round(float(np.percentile(values, q)), 4) if values else None

        def per_distance(parts: tuple[str, ...], q: float) -> dict[str, float | None]:
            return {
                _distance_key(d): stat([e for p in parts for e in self.errors[p][d]], q)
                for d in self.distances
            }

        def total(parts: tuple[str, ...], table: dict[str, dict[float, int]]) -> dict[str, int]:
            return {_distance_key(d): sum(table[p][d] for p in parts) for d in self.distances}

        sizes = {p: {d: len(v) for d, v in by_d.items()} for p, by_d in self.errors.items()}
        return {
            "lateral_error_m": per_distance(SIDES, 50),
            "lateral_error_p90_m": per_distance(SIDES, 90),
            "lateral_error_by_side_m": {side: per_distance((side,), 50) for side in SIDES},
            "center_lateral_error_m": per_distance(("center",), 50),
            "center_lateral_error_p90_m": per_distance(("center",), 90),
            "ego_lane_found_rate": round(self.found / self.ego_frames, 4)
            if self.ego_frames
            else None,
            "counts": {
                "frames": self.frames,
                "ego_lane_frames": self.ego_frames,
                "ego_lane_found": self.found,
                "boundary_samples": total(SIDES, sizes),
                "boundary_missed": total(SIDES, self.missed),
                "center_samples": total(("center",), sizes),
                "center_missed": total(("center",), self.missed),
            },
            "distances_m": list(self.distances),
            "tolerance_m": self.tolerance_m,
        }
