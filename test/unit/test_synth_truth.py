"""synth-bag's ego motion (TF and odometry) and motion truth (velocities, lane indices, the lead
vehicle) on tiny real bags, and the braking-lead and cut-in scenarios."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from bag_fixtures import read_all, run_cli

from hybridnets_core.bag.drive import WEAVE_M, WEAVE_PERIOD_S, SyntheticDrive
from hybridnets_core.bag.drive_motion import EgoState
from hybridnets_core.bag.reader import BagReader
from hybridnets_core.bag.scenarios import SCENARIOS
from hybridnets_core.bag.synth import START_NS
from hybridnets_core.bag.truth_topics import LEAD_VEHICLE, ODOMETRY, TF_MESSAGE, TRACKED_OBJECTS
from hybridnets_core.cli import synth_bag
from hybridnets_core.errors import ConfigError
from hybridnets_core.outputs import messages
from hybridnets_core.scene.ego_motion import EgoPose

SIZE = "160x96"
SEED = 3


def synth(root: Path, scenario: str, frames: int, fps: float) -> dict[str, list]:
    """A tiny bag of `scenario`, every message by topic."""
    bag = root / scenario
    assert run_cli("synth-bag", "--out", bag, "--frames", frames, "--fps", fps, "--seed", SEED,
                   "--size", SIZE, "--scenario", scenario) == 0  # fmt: skip
    return read_all(bag)


def yaw_of(q) -> float:
    return EgoPose.from_transform((0, 0, 0), (q.x, q.y, q.z, q.w)).yaw


def test_cli_scenarios_are_the_drive_scenarios() -> None:
    assert synth_bag.SCENARIOS == SCENARIOS


def test_unknown_scenario_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match="unknown scenario 'parade'"):
        SyntheticDrive(0, (160, 96), 10.0, "parade")


def test_tf_and_odometry_follow_a_straight_drive_in_closed_form(tmp_path) -> None:
    """braking-lead runs on a straight road aligned with the camera: the ego car is at
    x = v t, y = -sway(t) (its lane offset, right positive), heading 0, in odom."""
    frames, fps = 6, 4.0
    found = synth(tmp_path, "braking-lead", frames, fps)
    speed = SyntheticDrive(SEED, (160, 96), fps, "braking-lead").motion.ego_speed
    with BagReader(tmp_path / "braking-lead") as bag:
        assert bag.topics["/tf"] == TF_MESSAGE and bag.topics["/odom"] == ODOMETRY
    stamps = [START_NS + round(i * 1e9 / fps) for i in range(frames)]
    assert [log for log, _ in found["/tf"]] == stamps == [log for log, _ in found["/odom"]]
    omega = 2 * math.pi / WEAVE_PERIOD_S
    for index, ((_, tf), (_, odom)) in enumerate(zip(found["/tf"], found["/odom"])):
        t = index / fps
        (transform,) = tf.transforms
        assert (transform.header.frame_id, transform.child_frame_id) == ("odom", "base_link")
        assert messages.stamp_ns(transform.header) == stamps[index]
        moved, rotation = transform.transform.translation, transform.transform.rotation
        assert moved.x == pytest.approx(speed * t, abs=1e-6)
        assert moved.y == pytest.approx(-WEAVE_M * math.sin(omega * t), abs=1e-5)
        assert yaw_of(rotation) == pytest.approx(0.0, abs=1e-12)
        # the odometry carries the same pose and the velocity in base_link
        assert (odom.header.frame_id, odom.child_frame_id) == ("odom", "base_link")
        pose = odom.pose.pose
        assert (pose.position.x, pose.position.y) == (moved.x, moved.y)
        twist = odom.twist.twist
        assert twist.linear.x == pytest.approx(speed)
        assert twist.linear.y == pytest.approx(-WEAVE_M * omega * math.cos(omega * t))
        assert twist.angular.z == 0.0


def test_ego_pose_integrates_its_velocity_on_a_bending_road() -> None:
    """On the default drive the road bends: between frames the pose moves by the mean of the
    odometry velocities (rotated into odom) and turns by the mean yaw rate."""
    drive = SyntheticDrive(SEED, (160, 96), 50.0)
    states = [drive.road_motion.ego_state(i / 50.0) for i in range(40)]

    def odom_velocity(state: EgoState) -> np.ndarray:
        c, s = math.cos(state.yaw), math.sin(state.yaw)
        return np.array([c * state.vx - s * state.vy, s * state.vx + c * state.vy])

    for before, after in itertools.pairwise(states):
        step = np.array([after.x - before.x, after.y - before.y])
        mean = (odom_velocity(before) + odom_velocity(after)) / 2 / 50.0
        np.testing.assert_allclose(step, mean, atol=1e-4)
        turn = (after.yaw - before.yaw + math.pi) % (2 * math.pi) - math.pi
        assert turn == pytest.approx((before.yaw_rate + after.yaw_rate) / 2 / 50.0, abs=1e-6)


def test_relative_velocity_is_the_rate_of_the_true_positions() -> None:
    """The truth's relative velocity is what a tracker in base_link sees: the change of each
    vehicle's true position between two close frames, on the bending default drive too."""
    fps = 100.0
    for scenario in ("drive", "cut-in"):
        drive = SyntheticDrive(SEED, (160, 96), fps, scenario)
        for index in (50, 200):
            before, after = drive.truth(index), drive.truth(index + 1)
            later = {v.id: v for v in after.vehicles}
            for vehicle, state in zip(before.vehicles, before.states):
                if vehicle.id not in later:
                    continue
                moved = later[vehicle.id]
                rate = ((moved.x_m - vehicle.x_m) * fps, (moved.y_m - vehicle.y_m) * fps)
                np.testing.assert_allclose(rate, state.relative_velocity, atol=0.05)


def test_truth_topics_carry_velocities_lanes_and_the_lead(tmp_path) -> None:
    """Every labelled vehicle has both velocities and a lane index; over ground equals
    relative plus the ego velocity on a straight road; the lead is the nearest vehicle ahead
    in lane 0, with range = its contact point's x and TTC = range / -range rate."""
    found = synth(tmp_path, "braking-lead", 4, 2.0)
    with BagReader(tmp_path / "braking-lead") as bag:
        assert bag.topics["/ground_truth/tracked_objects"] == TRACKED_OBJECTS
        assert bag.topics["/ground_truth/tracked_objects_relative"] == TRACKED_OBJECTS
        assert bag.topics["/ground_truth/lead"] == LEAD_VEHICLE
    ttcs = []
    frames = zip(
        found["/ground_truth/detections"],
        found["/ground_truth/objects"],
        found["/ground_truth/tracked_objects"],
        found["/ground_truth/tracked_objects_relative"],
        found["/ground_truth/lead"],
        found["/odom"],
    )
    for (_, boxes), (_, objects), (_, ground), (_, relative), (_, lead), (_, odom) in frames:
        ids = [d.id for d in boxes.detections]
        assert [o.id for o in ground.objects] == ids == [o.id for o in relative.objects]
        assert ground.header.frame_id == "base_link"
        contact = {d.id: d.bbox.center.position.x for d in objects.detections}
        ego = odom.twist.twist.linear
        for over, rel in zip(ground.objects, relative.objects):
            assert not over.velocity_relative_to_vehicle and rel.velocity_relative_to_vehicle
            assert over.lane_index == rel.lane_index
            a, b = over.velocity.twist.linear, rel.velocity.twist.linear
            assert (a.x, a.y) == pytest.approx((b.x + ego.x, b.y + ego.y))
            # the pose is the footprint's centre, half a length beyond the contact point
            assert over.pose.pose.position.x > contact[over.id]
        ahead = [o for o in relative.objects if o.lane_index == 0 and contact[o.id] > 0]
        assert lead.present and ahead
        nearest = min(ahead, key=lambda o: contact[o.id])
        assert lead.id == nearest.id
        assert lead.range == pytest.approx(contact[lead.id], rel=1e-6)
        assert lead.range_rate == pytest.approx(nearest.velocity.twist.linear.x, rel=1e-6)
        if lead.range_rate < 0:
            assert lead.time_to_collision == pytest.approx(lead.range / -lead.range_rate)
        else:
            assert math.isinf(lead.time_to_collision)
        ttcs.append(lead.time_to_collision)
    # the lead brakes: at first it keeps the ego speed, then the TTC falls under 10 s
    assert math.isinf(ttcs[0]) and min(ttcs) < 10.0


def test_cut_in_vehicle_moves_into_the_ego_lane_and_becomes_the_lead(tmp_path) -> None:
    found = synth(tmp_path, "cut-in", 5, 1.0)  # t = 0..4 s: the lane change runs 1-4 s
    scripted = str(len(SyntheticDrive(SEED, (160, 96), 1.0, "cut-in").traffic))  # added last
    lanes, leads = [], []
    for (_, relative), (_, lead) in zip(
        found["/ground_truth/tracked_objects_relative"], found["/ground_truth/lead"]
    ):
        (car,) = [o for o in relative.objects if o.id == scripted]
        lanes.append(car.lane_index)
        leads.append(lead.id if lead.present else None)
    assert lanes[0] in (1, -1) and lanes[-1] == 0
    first_in = lanes.index(0)
    assert set(lanes[first_in:]) == {0} and set(lanes[:first_in]) == {lanes[0]}
    # the ego lane is cleared for the scenario: no lead until the car cuts in, then it
    assert leads == [None] * first_in + [scripted] * (len(lanes) - first_in)
