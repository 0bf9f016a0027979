"""The vehicle's own motion from two poses, and velocities over the ground from velocities seen
in the moving, turning vehicle frame: checked on points fixed in odom (which must come out
standing still) and on a point moving at a known velocity, all positions computed in closed
form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hybridnets_core.errors import InputError
from hybridnets_core.scene.ego_motion import EgoPose, EgoTwist

DT = 1e-3  # s: finite differences this short match the instantaneous motion to ~1e-3


def ego_on_circle(t: float, speed: float, yaw_rate: float) -> EgoPose:
    """The vehicle at time t on a circle of radius speed / yaw_rate, heading along it."""
    radius = speed / yaw_rate
    yaw = yaw_rate * t
    return EgoPose(radius * math.sin(yaw), radius * (1 - math.cos(yaw)), yaw)


def seen_from_vehicle(pose: EgoPose, odom_xy: np.ndarray) -> np.ndarray:
    """Points [N, 2] of odom in the vehicle frame at `pose` (rotation written out)."""
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    d = odom_xy - (pose.x, pose.y)
    return np.column_stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]])


def test_a_straight_drive_gives_its_speed_and_no_turn() -> None:
    twist = EgoTwist.between(EgoPose(1.0, 2.0, math.pi / 2), EgoPose(1.0, 4.5, math.pi / 2), 0.25)
    assert (twist.vx, twist.vy, twist.yaw_rate) == pytest.approx((10.0, 0.0, 0.0), abs=1e-12)


def test_a_turn_across_pi_gives_the_short_way_round() -> None:
    before, after = EgoPose(0.0, 0.0, math.radians(179)), EgoPose(0.0, 0.0, math.radians(-179))
    assert EgoTwist.between(before, after, 0.5).yaw_rate == pytest.approx(math.radians(4))


@pytest.mark.parametrize(("speed", "yaw_rate"), [(15.0, 0.3), (8.0, -0.5), (20.0, 1e-4)])
def test_points_fixed_in_odom_stand_still_over_the_ground(speed: float, yaw_rate: float) -> None:
    t = 1.3
    before, after = ego_on_circle(t - DT, speed, yaw_rate), ego_on_circle(t, speed, yaw_rate)
    twist = EgoTwist.between(before, after, DT)
    assert math.hypot(twist.vx, twist.vy) == pytest.approx(speed, rel=1e-3)
    assert twist.yaw_rate == pytest.approx(yaw_rate, rel=1e-6)
    fixed = np.array([[30.0, 2.0], [12.0, -8.0], [-5.0, 4.0]]) + np.array([after.x, after.y])
    position = seen_from_vehicle(after, fixed)
    relative = (position - seen_from_vehicle(before, fixed)) / DT
    assert np.abs(relative).max() > speed * 0.5  # from the vehicle they all move
    np.testing.assert_allclose(twist.over_ground(position, relative), 0.0, atol=0.05)


def test_a_moving_point_gets_its_velocity_over_the_ground_back() -> None:
    speed, yaw_rate, t = 12.0, 0.4, 2.0
    before, after = ego_on_circle(t - DT, speed, yaw_rate), ego_on_circle(t, speed, yaw_rate)
    velocity_odom = np.array([-6.0, 3.0])  # an oncoming car, drifting left

    def car(when: float) -> np.ndarray:
        return np.array([[40.0, 10.0]]) + velocity_odom * when

    position = seen_from_vehicle(after, car(t))
    relative = (position - seen_from_vehicle(before, car(t - DT))) / DT
    over_ground = EgoTwist.between(before, after, DT).over_ground(position, relative)
    c, s = math.cos(after.yaw), math.sin(after.yaw)  # odom's velocity in the vehicle's axes
    expected = [
        c * velocity_odom[0] + s * velocity_odom[1],
        -s * velocity_odom[0] + c * velocity_odom[1],
    ]
    np.testing.assert_allclose(over_ground[0], expected, atol=0.05)


def test_poses_at_one_stamp_give_no_motion() -> None:
    with pytest.raises(InputError, match="positive time apart"):
        EgoTwist.between(EgoPose(0.0, 0.0, 0.0), EgoPose(1.0, 0.0, 0.0), 0.0)
