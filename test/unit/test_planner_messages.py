"""The planner messages (~/tracked_objects, ~/lead_vehicle, ~/lanes) built as rosbags messages
from frames of a scripted drive seen by a level pinhole camera: cars at known ground positions
between painted lane lines, and a car closing in at a constant speed."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest

from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.inference.letterbox import Letterbox
from hybridnets_core.inference.results import Detections, FrameResult
from hybridnets_core.outputs.frame import OUTPUT_TYPES, FrameOutputs
from hybridnets_core.outputs.messages import UNKNOWN_ANGLE_VARIANCE, UNKNOWN_RATE_VARIANCE
from hybridnets_core.outputs.settings import GroundSettings, OutputSettings
from hybridnets_core.scene.ground import CameraPose, GridSpec, PinholeParameters
from hybridnets_core.scene.lanes import LaneSettings
from hybridnets_core.scene.lead import LeadSettings
from hybridnets_core.scene.objects import ObjectSettings
from hybridnets_core.scene.path import LANE_UNKNOWN, PathSettings

W, H, F, CAMERA_HEIGHT = 640, 360, 500.0, 1.5
CX, CY = (W - 1) / 2, (H - 1) / 2
NETWORK = (384, 640)  # 12 px of letterbox padding above and below the source image
PAD = 12
CAR = (4.5, 1.8, 1.5)  # the car's length, width and height priors (objects.py)
CAR_WIDTH_SEEN = 1.7  # narrower than the prior: the box shows only the car's rear
SECOND = 1_000_000_000
START = 100 * SECOND
DT_NS = 100_000_000  # 10 frames per second
LINES = (5.25, 1.75, -1.75, -5.25)  # painted lane lines, left positive
WANTED = {"objects", "tracked_objects", "lead_vehicle", "lanes"}


def settings(**changes: Any) -> OutputSettings:
    """The level camera at CAMERA_HEIGHT with fixed intrinsics, a grid out to 80 m, objects
    placed at their boxes' bottom edges."""
    ground = GroundSettings(
        grid=GridSpec(0.0, 80.0, -15.0, 15.0, 0.5),
        camera=CameraPose(z=CAMERA_HEIGHT),
        intrinsics=PinholeParameters(F, F, CX, CY),
    )
    return OutputSettings(ground=ground, contact_from_drivable=False, **changes)


def car_box(range_m: float, lateral_m: float) -> list[float]:
    """Source-pixel box of the rear of a car whose near face's middle stands at (range_m,
    lateral_m): bottom corners' rays (at x1 - 0.5, x2 - 0.5 and row y2 - 0.5) meet the ground
    CAR_WIDTH_SEEN apart there."""
    column = CX - F * lateral_m / range_m
    half = F * CAR_WIDTH_SEEN / range_m / 2
    bottom = CY + F * CAMERA_HEIGHT / range_m
    top = CY - F * (CAR[2] - CAMERA_HEIGHT) / range_m
    return [column - half + 0.5, top, column + half + 0.5, bottom + 0.5]


@functools.cache
def lane_mask(lines: tuple[float, ...]) -> np.ndarray:
    """Network-resolution lane mask of 3 px wide lines at `lines` (lateral offsets, m) from 4 m
    to about 60 m."""
    mask = np.zeros(NETWORK, bool)
    for row in range(int(CY + F * CAMERA_HEIGHT / 60) + 1, H):
        forward = F * CAMERA_HEIGHT / (row - CY)
        if forward < 4.0:
            continue
        for lateral in lines:
            column = round(CX - F * lateral / forward)
            if 1 <= column < W - 1:
                mask[PAD + row, column - 1 : column + 2] = True
    return mask


def frame_of(cars: list[tuple[float, float]], lines: tuple[float, ...] = LINES) -> FrameResult:
    """A frame of cars at (range, lateral) near-face middles, score 0.9, with lane lines."""
    boxes = np.array([car_box(*car) for car in cars], np.float32).reshape(-1, 4)
    detections = Detections(
        boxes=boxes,
        scores=np.full(len(cars), 0.9, np.float32),
        class_ids=np.zeros(len(cars), np.int64),
    )
    lane = lane_mask(lines)
    return FrameResult(
        detections=detections,
        names=["car"],
        label_maps=np.stack([np.zeros(NETWORK, bool), lane]),
        seg_names=["road", "lane"],
        letterbox=Letterbox.fit((H, W), NETWORK),
    )


def drive(outputs: FrameOutputs, frames: list[FrameResult]) -> list[dict[str, Any]]:
    """Each frame's messages, 100 ms apart."""
    return [
        outputs.build(frame, START + index * DT_NS, "front_optical", WANTED).messages
        for index, frame in enumerate(frames)
    ]


def by_id(message: Any) -> dict[str, Any]:
    return {item.id: item for item in message.objects}


def test_lane_index_in_path_and_boundaries_of_cars_at_known_offsets() -> None:
    """Cars 20 m ahead in the ego lane and one lane to either side, lines at +-1.75 and
    +-5.25 m: lane indices 0, +1, -1; only the middle one is in the path and the lead."""
    outputs = FrameOutputs(RosbagsFactory(), settings(), ["car"])
    cars = [(20.0, 0.0), (20.0, 3.5), (20.0, -3.5)]
    last = drive(outputs, [frame_of(cars)] * 2)[-1]  # confirmed at the second detection
    tracked = last["tracked_objects"]
    assert tracked.header.frame_id == "base_link"
    assert tracked.header.stamp.sec == (START + DT_NS) // SECOND
    # the same ids as the Detection3D of the same objects in the same frame
    detections = {d.id: d for d in last["objects"].detections}
    assert set(by_id(tracked)) == set(detections) and len(detections) == 3
    lanes = {}
    for ident, item in by_id(tracked).items():
        box = detections[ident].bbox.center.position
        lateral = round(box.y / 3.5)
        lanes[lateral] = (item.lane_index, item.in_path)
        # the centre: half the car's length behind its rear, on the ground, heading along x
        position = item.pose.pose.position
        assert position.x == pytest.approx(box.x + CAR[0] / 2, abs=1e-6)
        assert position.y == pytest.approx(box.y, abs=1e-6) and position.z == 0.0
        orientation = item.pose.pose.orientation
        assert (orientation.x, orientation.y, orientation.z, orientation.w) == (0, 0, 0, 1)
        assert (item.size.x, item.size.z) == (CAR[0], CAR[2])
        assert item.size.y == pytest.approx(CAR_WIDTH_SEEN, rel=0.03)  # plane facing the camera
        assert (item.class_id, item.cameras) == ("car", ["front_optical"])
        assert item.score == pytest.approx(0.9) and item.existence_confidence == pytest.approx(0.9)
        assert item.velocity_relative_to_vehicle
        covariance = np.asarray(item.pose.covariance).reshape(6, 6)
        assert covariance[0, 0] > 0 and covariance[1, 1] > 0
        assert covariance[2, 2] == pytest.approx(0.01)  # z, as ~/objects
        assert (np.diag(covariance)[3:] == UNKNOWN_ANGLE_VARIANCE).all()
        twist = np.asarray(item.velocity.covariance).reshape(6, 6)
        assert 0 < twist[0, 0] < UNKNOWN_RATE_VARIANCE and 0 < twist[1, 1] < UNKNOWN_RATE_VARIANCE
        assert (np.diag(twist)[2:] == UNKNOWN_RATE_VARIANCE).all()
    assert lanes == {0: (0, True), 1: (1, False), -1: (-1, False)}
    lead = last["lead_vehicle"]
    middle = next(i for i, item in by_id(tracked).items() if item.lane_index == 0)
    assert lead.present and lead.id == middle
    assert lead.range == pytest.approx(20.0, abs=1e-3)

    boundaries = last["lanes"].boundaries
    assert last["lanes"].header.frame_id == "base_link"
    seen = {b.boundary_index: b for b in boundaries}
    assert sorted(seen) == [-2, -1, 1, 2] and len(boundaries) == 4
    for index, lateral in zip((2, 1, -1, -2), LINES):
        points = np.array([(p.x, p.y, p.z) for p in seen[index].points])
        assert points[0, 0] < points[-1, 0]  # from near the vehicle outwards
        np.testing.assert_allclose(points[:, 1], lateral, atol=0.1)
        assert seen[index].type == 0 and 0.5 < seen[index].confidence <= 1.0


def test_a_double_line_is_one_boundary_and_unfitted_lines_are_unknown() -> None:
    """Boundary indices follow the lane index's rule: a line nearer than
    path.min_lane_width_m to the last boundary counted is no boundary of its own."""
    outputs = FrameOutputs(RosbagsFactory(), settings(), ["car"])
    (built,) = drive(outputs, [frame_of([])])
    assert built["tracked_objects"].objects == [] and not built["lead_vehicle"].present
    indices = sorted(b.boundary_index for b in built["lanes"].boundaries)
    assert indices == [-2, -1, 1, 2]
    narrow = settings(path=PathSettings(lane_width_m=4.0, min_lane_width_m=3.6))
    (built,) = drive(FrameOutputs(RosbagsFactory(), narrow, ["car"]), [frame_of([])])
    # 3.5 m between the lines: none beyond the ego lane counts at a 3.6 m minimum
    assert sorted(b.boundary_index for b in built["lanes"].boundaries) == [-1, 0, 0, 1]


def test_boundaries_beyond_a_lone_ego_boundary_count_from_a_lane_width_across() -> None:
    """Only the ego lane's right line is seen (5.25 m is too far out to be its left one): the
    left boundary lies path.lane_width_m across, so the line at 5.25 m is the next one, +2."""
    outputs = FrameOutputs(RosbagsFactory(), settings(), ["car"])
    (built,) = drive(outputs, [frame_of([], lines=(5.25, -1.75, -5.25))])
    by_side = {round(b.points[0].y): b.boundary_index for b in built["lanes"].boundaries}
    assert by_side == {5: 2, -2: -1, -5: -2}


def test_the_lead_closing_in_has_the_closed_form_time_to_collision() -> None:
    """A car 40 m ahead closing at 5 m/s, seen by a well calibrated camera (small tilt and row
    errors, so the track's filter settles in about a second): the range is then the true one
    less lead.ego_front_m, the range rate -5 m/s and TTC range / 5."""
    speed, front = 5.0, 2.0
    accurate = ObjectSettings(sigma_pitch_rad=0.001, sigma_v_px=0.5)
    lead = LeadSettings(ego_front_m=front)
    outputs = FrameOutputs(RosbagsFactory(), settings(objects=accurate, lead=lead), ["car"])
    ranges = [40.0 - speed * index * DT_NS / SECOND for index in range(50)]
    frames = [frame_of([(true_range, 0.0)]) for true_range in ranges]
    leads = [built["lead_vehicle"] for built in drive(outputs, frames)]
    assert not leads[0].present  # not confirmed yet
    ident = leads[1].id
    assert ident and all(lead.present and lead.id == ident for lead in leads[1:])
    for lead, true_range in list(zip(leads, ranges))[15:]:
        assert lead.range == pytest.approx(true_range - front, abs=0.02)
        assert lead.range_rate == pytest.approx(-speed, abs=0.05)
        assert lead.time_to_collision == pytest.approx((true_range - front) / speed, rel=0.01)
    receding = FrameOutputs(RosbagsFactory(), settings(), ["car"])
    away = drive(receding, [frame_of([(20.0 + index * 0.5, 0.0)]) for index in range(10)])
    assert away[-1]["lead_vehicle"].present
    assert math.isinf(away[-1]["lead_vehicle"].time_to_collision)


def test_a_coasting_track_keeps_its_centre_offset_and_loses_confidence() -> None:
    """A car unseen for one frame is still reported at its filtered position moved by the last
    centre offset, seen by no camera, its confidence 0.9 decayed by 0.1 s of tracking.max_age_s
    (1 s)."""
    outputs = FrameOutputs(RosbagsFactory(), settings(), ["car"])
    built = drive(outputs, [frame_of([(15.0, 0.0)])] * 3 + [frame_of([])])
    (seen,) = built[2]["tracked_objects"].objects
    (coasting,) = built[3]["tracked_objects"].objects
    assert coasting.id == seen.id and coasting.cameras == [] and seen.cameras == ["front_optical"]
    assert coasting.existence_confidence == pytest.approx(0.9 * (1 - 0.1))
    assert coasting.pose.pose.position.x == pytest.approx(15.0 + CAR[0] / 2, abs=0.05)
    assert (coasting.size.x, coasting.size.z) == (CAR[0], CAR[2])
    assert coasting.lane_index == 0 and coasting.in_path
    assert built[3]["lead_vehicle"].id == seen.id


def test_without_tracking_or_lanes() -> None:
    """No tracks: no tracked objects and no lead; no lane lines seen: an empty LaneArray and
    unknown lane indices outside the corridor's reach."""
    untracked = FrameOutputs(RosbagsFactory(), settings(track_objects=False), ["car"])
    (built,) = drive(untracked, [frame_of([(20.0, 0.0)])])
    assert set(built) == {"objects", "lanes"}
    outputs = FrameOutputs(RosbagsFactory(), settings(), ["car"])
    last = drive(outputs, [frame_of([(20.0, 0.0), (20.0, 4.0)], lines=())] * 2)[-1]
    assert last["lanes"].boundaries == []
    items = sorted(last["tracked_objects"].objects, key=lambda item: item.pose.pose.position.y)
    assert [item.lane_index for item in items] == [LANE_UNKNOWN] * 2
    assert [item.in_path for item in items] == [True, False]  # the 3.5 m corridor
    assert last["lead_vehicle"].present


def test_planner_outputs_are_in_the_table_and_ask_for_lanes() -> None:
    assert {name: OUTPUT_TYPES[name] for name in ("tracked_objects", "lead_vehicle", "lanes")} == {
        "tracked_objects": "hybridnets_ros/msg/TrackedObjectArray",
        "lead_vehicle": "hybridnets_ros/msg/LeadVehicle",
        "lanes": "hybridnets_ros/msg/LaneArray",
    }
    # only the lead wanted: the lanes are still estimated, so the lead is taken in the ego lane
    outputs = FrameOutputs(RosbagsFactory(), settings(lanes=LaneSettings()), ["car"])
    for index in range(2):
        built = outputs.build(
            frame_of([(20.0, 3.0)]), START + index * DT_NS, "front_optical", {"lead_vehicle"}
        )
    assert set(built.messages) == {"lead_vehicle"} and built.context.lanes is not None
    assert not built.messages["lead_vehicle"].present  # 3 m left: in the next lane, not ahead
