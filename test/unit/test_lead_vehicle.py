"""Lane index and in-path of objects against fitted lanes, and the lead vehicle with its range,
range rate and time to collision, on closed-form scenes."""

from __future__ import annotations

import numpy as np
import pytest

from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.scene.lanes import LaneEstimate, fit_lanes
from hybridnets_core.scene.lead import (
    LeadSettings,
    assess_path,
    find_lead,
    time_to_collision,
)
from hybridnets_core.scene.path import LANE_UNKNOWN, PathSettings, in_path, lane_indices
from hybridnets_core.scene.tracking import Tracker, TrackResult

MS = 1_000_000  # ns
F, CX, CY, CAMERA_HEIGHT = 800.0, 640.0, 360.0, 1.5  # pinhole looking straight ahead
CLASSES = ["car", "person"]


def painted(offset: float, curvature: float = 0.0, x_max: float = 60.0) -> np.ndarray:
    """Noise-free ground points [N, 2] of a 12 cm wide line y = offset + curvature x^2,
    seen from 4 m to x_max as a camera samples it (rows thinning out with range)."""
    x = F * CAMERA_HEIGHT / np.arange(int(F * CAMERA_HEIGHT / x_max), int(F * CAMERA_HEIGHT / 4))
    across = np.linspace(-0.06, 0.06, 5)
    xs = np.repeat(x, across.size)
    return np.stack([xs, offset + curvature * xs**2 + np.tile(across, x.size)], axis=1)


def lanes_of(offsets: list[float], curvature: float = 0.0) -> LaneEstimate:
    """Lanes fitted to painted lines at these lateral offsets."""
    return fit_lanes(np.concatenate([painted(y, curvature) for y in offsets]))


def points(*xy: tuple[float, float]) -> np.ndarray:
    return np.array(xy, dtype=float).reshape(-1, 2)


@pytest.mark.parametrize(
    "offsets",
    [
        [1.75, -1.75],  # the ego lane alone: neighbours by its width
        [8.75, 5.25, 1.75, -1.75, -5.25],  # neighbours seen
        [6.25, 5.25, 1.75, -1.75, -5.25],  # a double line counts once
    ],
)
def test_straight_lanes_give_lane_indices_left_positive(offsets: list[float]) -> None:
    lanes = lanes_of(offsets)
    assert len(lanes.lines) == len(offsets) and lanes.left is not None and lanes.right is not None
    at = points((20, 0), (20, 3.5), (20, -3.5), (20, 7), (35, -7.2), (10, 1.6), (10, -1.6))
    assert lane_indices(at, lanes).tolist() == [0, 1, -1, 2, -2, 0, 0]


def test_lines_nearer_than_min_lane_width_are_one_boundary() -> None:
    lanes = lanes_of([6.25, 5.25, 1.75, -1.75])
    at = points((20, 7.0), (20, 5.8))
    assert lane_indices(at, lanes).tolist() == [2, 2]
    assert lane_indices(at, lanes, PathSettings(min_lane_width_m=0.5)).tolist() == [3, 2]


def test_one_seen_boundary_puts_the_other_a_lane_width_across() -> None:
    lanes = lanes_of([-1.75])
    assert lanes.left is None and lanes.right is not None
    at = points((20, 0), (20, 3.5), (20, -3.5), (20, 1.6), (20, 3.0))
    assert lane_indices(at, lanes).tolist() == [0, 1, -1, 0, 1]
    wide = PathSettings(lane_width_m=5.0)
    assert lane_indices(at, lanes, wide).tolist() == [0, 1, -1, 0, 0]


def test_an_object_following_a_curved_lane_stays_in_it() -> None:
    c = 1 / 1000  # boundaries y = c x^2 +- 1.75: 2.5 m sideways at 50 m
    lanes = lanes_of([1.75, -1.75], curvature=c)
    x = np.array([8.0, 20.0, 35.0, 50.0])
    on_curve = np.stack([x, c * x * x], axis=1)
    assert lane_indices(on_curve, lanes).tolist() == [0, 0, 0, 0]
    assert lane_indices(on_curve + np.array([0.0, 3.5]), lanes).tolist() == [1, 1, 1, 1]
    assert in_path(on_curve, np.full(4, 1.8), lanes).all()
    straight_ahead = points((50, 0.0))  # the road has bent left of it
    assert lane_indices(straight_ahead, lanes).tolist() == [-1]
    assert not in_path(straight_ahead, [1.8], lanes).any()
    assert in_path(straight_ahead, [1.8], None).all()  # the corridor knows no curve


def test_beyond_the_seen_range_the_lane_is_unknown_and_the_path_is_the_corridor() -> None:
    lanes = lanes_of([1.75, -1.75])  # seen from 4 m to 57 m (the farthest sampled row)
    assert lanes.lines[0].x_max == pytest.approx(57.14, abs=0.01)
    at = points((60, 0), (80, 0), (80, 3.5), (-5, 0), (float("nan"), 0))
    assert lane_indices(at, lanes).tolist() == [0, *[LANE_UNKNOWN] * 4]
    near = PathSettings(extrapolation_m=1.0)
    assert lane_indices(at, lanes, near).tolist() == [LANE_UNKNOWN] * 5
    assert in_path(at, np.zeros(5), lanes).tolist() == [True, True, False, False, False]
    assert lane_indices(at, None).tolist() == [LANE_UNKNOWN] * 5
    assert lane_indices(at, LaneEstimate()).tolist() == [LANE_UNKNOWN] * 5


def test_corridor_without_lanes_takes_objects_overlapping_it_by_min_overlap() -> None:
    """Corridor |y| <= 1.75 m; an object is in it when 0.5 m of its width (or all of it) is."""
    at = points((20, 0), (20, 1.7), (20, 1.8), (20, 2.4), (20, 2.0), (-3, 0), (0, 0))
    widths = np.array([1.8, 0.0, 0.0, 1.8, 1.8, 1.8, 1.8])
    assert in_path(at, widths, None).tolist() == [True, True, False, False, True, False, False]
    narrow = PathSettings(corridor_width_m=2.0)
    assert in_path(at, widths, None, narrow).tolist() == [True] + [False] * 6
    touching = PathSettings(min_overlap_m=0.0)
    assert in_path(at, widths, None, touching).tolist()[:5] == [True, True, False, True, True]


def test_time_to_collision_closing_opening_and_reached() -> None:
    assert time_to_collision(20.0, -5.0, 0.1) == pytest.approx(4.0)
    assert time_to_collision(20.0, 5.0, 0.1) == np.inf  # opening
    assert time_to_collision(20.0, 0.0, 0.1) == np.inf  # equal speed
    assert time_to_collision(20.0, -0.05, 0.1) == np.inf  # closing slower than the threshold
    assert time_to_collision(0.0, -5.0, 0.1) == 0.0
    assert time_to_collision(-1.0, 3.0, 0.1) == 0.0
    ranges, rates = np.array([20.0, 10.0, 0.0]), np.array([-5.0, 1.0, -1.0])
    assert time_to_collision(ranges, rates, 0.1).tolist() == [4.0, np.inf, 0.0]


def test_lead_range_starts_at_the_vehicle_front() -> None:
    ids, front = ["7", "8"], LeadSettings(ego_front_m=3.7)
    xy, velocity = points((23.7, 0), (40, 0)), points((-5, 0.3), (0, 0))
    lead = find_lead(xy, velocity, [True, True], ids, front)
    assert (lead.row, lead.track_id) == (0, "7")
    assert (lead.range_m, lead.range_rate_mps) == pytest.approx((20.0, -5.0))
    assert lead.ttc_s == pytest.approx(4.0)
    overlapping = find_lead(points((2.0, 0)), points((3, 0)), [True], ["9"], front)
    assert overlapping.range_m == pytest.approx(-1.7) and overlapping.ttc_s == 0.0
    assert find_lead(xy, velocity, [False, False], ids) is None
    assert find_lead(points((-4, 0)), points((0, 0)), [True], ["1"]) is None  # behind
    with pytest.raises(InputError, match="lead inputs need"):
        find_lead(xy, velocity, [True], ids)


def track_frames(
    objects: list[tuple[float, float, int]], speed: float = 0.0, frames: int = 30
) -> TrackResult:
    """Track objects (x, y, class id) over `frames` frames at 10 Hz; the first closes on the
    vehicle at `speed` m/s and is at its given x in the last frame, the others stand still
    relative to the vehicle."""
    tracker = Tracker()
    for k in range(frames):
        t = 0.1 * k
        moved = [(x + speed * (0.1 * (frames - 1) - t), y, c) for x, y, c in objects[:1]]
        scene = moved + objects[1:]
        boxes = np.array([projected_box(x, y) for x, y, _ in scene])
        result = tracker.update(
            round(100 * k * MS),
            boxes,
            np.full(len(scene), 0.9),
            np.array([c for *_, c in scene]),
            ground_xy=np.array([(x, y) for x, y, _ in scene]),
            ground_cov=np.tile(np.eye(2) * 1e-4, (len(scene), 1, 1)),
        )
    assert len(result.track_ids) == len(objects)
    return result


def projected_box(x: float, y: float, width: float = 1.8, height: float = 1.5) -> np.ndarray:
    """Image box of a width x height object standing on the ground at (x, y), vehicle frame."""
    left, right = CX - F * (y + width / 2) / x, CX - F * (y - width / 2) / x
    return np.array(
        [left, CY + F * (CAMERA_HEIGHT - height) / x, right, CY + F * CAMERA_HEIGHT / x]
    )


def test_lead_is_the_nearest_vehicle_in_the_path_not_a_nearer_neighbour_or_pedestrian() -> None:
    lanes = lanes_of([1.75, -1.75])
    scene = [(20.0, 0.0, 0), (12.0, 3.5, 0), (8.0, 0.2, 1), (45.0, -0.3, 0), (15.0, -3.4, 0)]
    tracks = track_frames(scene, speed=5.0)
    rows = {tuple(np.round(xy).astype(int)): row for row, xy in enumerate(tracks.ground_xy)}
    order = [rows[(round(x), round(y))] for x, y, _ in scene]
    assessed = assess_path(tracks, lanes, CLASSES)
    assert assessed.track_ids == tracks.track_ids
    assert assessed.lane_index[order].tolist() == [0, 1, 0, 0, -1]
    assert assessed.in_path[order].tolist() == [True, False, True, True, False]
    lead = assessed.lead
    assert (lead.row, lead.track_id) == (order[0], tracks.track_ids[order[0]])
    assert lead.range_m == pytest.approx(20.0, abs=0.05)
    assert lead.range_rate_mps == pytest.approx(-5.0, abs=0.1)
    assert lead.ttc_s == pytest.approx(4.0, abs=0.1)
    without_lanes = assess_path(tracks, None, CLASSES)
    assert (without_lanes.lane_index == LANE_UNKNOWN).all()
    assert without_lanes.lead.row == order[0]
    buses_only = assess_path(tracks, lanes, CLASSES, LeadSettings(vehicle_classes=["bus"]))
    assert buses_only.lead is None


def test_lead_at_equal_speed_has_no_ttc_and_ego_motion_is_subtracted() -> None:
    tracks = track_frames([(20.0, 0.0, 0)])  # stands still relative to the vehicle
    assert tracks.ground_velocity.tolist() == [[0.0, 0.0]]
    assert assess_path(tracks, None, CLASSES).lead.ttc_s == np.inf
    # the same velocities over the ground: a stopped car, approached at 5 m/s
    lead = assess_path(tracks, None, CLASSES, ego_velocity=(5.0, 0.0)).lead
    assert lead.range_rate_mps == -5.0 and lead.ttc_s == pytest.approx(4.0)
    with pytest.raises(InputError, match="ego_velocity"):
        assess_path(tracks, None, CLASSES, ego_velocity=(5.0,))
    with pytest.raises(InputError, match="class names"):
        assess_path(tracks, None, [])


def test_bad_inputs_and_settings_give_one_line_errors() -> None:
    with pytest.raises(InputError, match=r"\[N, 2\]"):
        lane_indices(np.zeros(3), None)
    with pytest.raises(InputError, match="widths"):
        in_path(np.zeros((2, 2)), np.zeros(3), None)
    bad = [
        (PathSettings, {"corridor_width_m": 0.0}, "path corridor_width_m"),
        (PathSettings, {"min_overlap_m": float("nan")}, "path min_overlap_m"),
        (PathSettings, {"lane_width_m": 3.0, "min_lane_width_m": 3.2}, "min_lane_width_m"),
        (LeadSettings, {"vehicle_classes": []}, "lead vehicle_classes"),
        (LeadSettings, {"vehicle_classes": ["car", ""]}, "lead vehicle_classes"),
        (LeadSettings, {"vehicle_classes": "car"}, "lead vehicle_classes"),
        (LeadSettings, {"ego_front_m": -1.0}, "lead ego_front_m"),
        (LeadSettings, {"closing_speed_mps": -0.1}, "lead closing_speed_mps"),
    ]
    for cls, values, message in bad:
        with pytest.raises(ConfigError, match=message) as caught:
            cls(**values)
        assert "\n" not in str(caught.value)
