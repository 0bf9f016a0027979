"""The lead vehicle: the nearest vehicle in the path ahead, with its range, range rate and time
to collision; and every track's lane index and whether it is in the path (path.py).

Positions are each track's ground position in grid_frame: the middle of the object's face
nearest the camera on the ground (objects.py), for a vehicle ahead its rear. Ranges run along
grid_frame x from the vehicle's front (ego_front_m ahead of grid_frame's origin) to that point.

Velocities must be relative to the vehicle for the range rate (d range / dt, the relative
velocity's x component; negative when closing). Tracker velocities are (its filter runs in the
vehicle's moving frame); velocities over the ground come with the vehicle's own velocity, which
is subtracted. Time to collision: range / -range_rate when closing faster than
closing_speed_mps, +inf otherwise, 0 once the range is not positive (the front reached it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, InputError
from ..settings import Names, check_settings, setting
from .lanes import LaneEstimate
from .objects import ObjectSettings
from .path import PathSettings, in_path, lane_indices
from .tracking import TrackResult

DEFAULT_VEHICLE_CLASSES = ("car", "truck", "bus", "train", "motor", "motorcycle")
_OBJECTS = ObjectSettings()  # the default size priors


@dataclass(frozen=True)
class LeadSettings:
    """Which objects can be the lead vehicle, and how its range and closing speed are taken."""

    vehicle_classes: Names = setting(
        Names(DEFAULT_VEHICLE_CLASSES),
        "Class names that can be the lead vehicle (others in the path are not).",
    )
    ego_front_m: float = setting(
        0.0,
        "Distance (m) along x from grid_frame's origin to the vehicle's front, where ranges "
        "start (about 3.7 m for a car's base_link on its rear axle).",
        low=0.0,
        high=50.0,
    )
    closing_speed_mps: float = setting(
        0.1,
        "A lead closing slower than this (m/s) has no time to collision (+inf).",
        low=0.0,
        high=10.0,
    )

    def __post_init__(self) -> None:
        check_settings(self, "lead")
        if not self.vehicle_classes or not all(self.vehicle_classes):
            raise ConfigError(
                "lead vehicle_classes needs at least one class name and no empty ones, got "
                f"{list(self.vehicle_classes)}"
            )


@dataclass(frozen=True)
class LeadVehicle:
    """The lead: its row in the inputs, track id, range (m), range rate (m/s), TTC (s)."""

    row: int
    track_id: str
    range_m: float
    range_rate_mps: float
    ttc_s: float


@dataclass(frozen=True)
class PathAssessment:
    """One frame's tracks against the ego lane, in TrackResult row order, and the lead."""

    track_ids: list[str]
    lane_index: np.ndarray  # int8 [M], path.LANE_UNKNOWN where the lanes do not cover it
    in_path: np.ndarray  # bool [M]
    lead: LeadVehicle | None


def time_to_collision(
    range_m: np.ndarray | float, range_rate_mps: np.ndarray | float, closing_speed_mps: float
) -> np.ndarray:
    """Seconds until the range reaches 0 at the current range rate: range / -range_rate when
    range_rate < -closing_speed_mps, +inf otherwise, 0 where the range is not positive."""
    range_m = np.asarray(range_m, np.float64)
    rate = np.asarray(range_rate_mps, np.float64)
    closing = rate < -closing_speed_mps
    ttc = np.where(closing, range_m / np.where(closing, -rate, 1.0), np.inf)
    return np.where(range_m <= 0, 0.0, ttc)


def find_lead(
    xy: np.ndarray,
    velocity: np.ndarray,
    candidates: np.ndarray,
    track_ids: Sequence[str],
    settings: LeadSettings = LeadSettings(),
) -> LeadVehicle | None:
    """The nearest candidate ahead (x > 0) among objects at xy [N, 2] with velocities [N, 2]
    relative to the vehicle (m/s), or None. candidates [N]: in the path and a vehicle."""
    xy, velocity = np.asarray(xy, np.float64), np.asarray(velocity, np.float64)
    count = len(track_ids)
    if xy.shape != (count, 2) or velocity.shape != (count, 2) or len(candidates) != count:
        raise InputError(
            f"lead inputs need xy [{count}, 2], velocity [{count}, 2] and candidates [{count}], "
            f"got {xy.shape}, {velocity.shape}, {len(candidates)}"
        )
    with np.errstate(invalid="ignore"):  # NaN positions are never ahead
        ahead = np.asarray(candidates, bool) & (xy[:, 0] > 0) & np.isfinite(velocity).all(axis=1)
    if not ahead.any():
        return None
    row = int(np.argmin(np.where(ahead, xy[:, 0], np.inf)))
    range_m = float(xy[row, 0]) - settings.ego_front_m
    rate = float(velocity[row, 0])
    ttc = float(time_to_collision(range_m, rate, settings.closing_speed_mps))
    return LeadVehicle(row, track_ids[row], range_m, rate, ttc)


def assess_path(
    tracks: TrackResult,
    lanes: LaneEstimate | None,
    class_names: Sequence[str],
    settings: LeadSettings = LeadSettings(),
    path: PathSettings = PathSettings(),
    objects: ObjectSettings | None = None,
    ego_velocity: tuple[float, float] | None = None,
) -> PathAssessment:
    """Lane index and in-path of every confirmed track, and the lead vehicle, of one frame.

    tracks: SceneFrame.tracks; lanes: the frame's LaneEstimate (None: the corridor only);
    class_names index the tracks' class ids. Widths are the classes' width priors (objects'
    prior_widths_m), steadier than a box's width, which also spans the side an object off to
    one side shows. Coasting (LOST) tracks count, at their predicted positions. ego_velocity:
    the vehicle's velocity (m/s, grid_frame axes) when the tracks' velocities are over the
    ground; None when they are relative to the vehicle (as the Tracker gives them).
    """
    objects = objects or _OBJECTS
    names = np.asarray(class_names, dtype=object)
    if len(tracks.class_ids) and int(tracks.class_ids.max()) >= len(names):
        raise InputError(
            f"track class ids need {int(tracks.class_ids.max()) + 1} class names, got {len(names)}"
        )
    xy = tracks.ground_xy.reshape(-1, 2)  # NaN where a track has no ground position
    widths = objects.size_priors(list(class_names))[:, 2][tracks.class_ids]
    velocity = tracks.ground_velocity.reshape(-1, 2)
    if ego_velocity is not None:
        ego = np.asarray(ego_velocity, np.float64)
        if ego.shape != (2,) or not np.isfinite(ego).all():
            raise InputError(f"ego_velocity must be finite (vx, vy) in m/s, got {ego_velocity!r}")
        velocity = velocity - ego
    lane = lane_indices(xy, lanes, path)
    inside = in_path(xy, widths, lanes, path)
    vehicle = np.isin(names[tracks.class_ids], list(settings.vehicle_classes))
    lead = find_lead(xy, velocity, inside & vehicle, tracks.track_ids, settings)
    return PathAssessment(list(tracks.track_ids), lane, inside, lead)
