"""Velocities over the ground in ~/tracked_objects with real rclpy: the same frame again and again
(objects that keep their place relative to the vehicle) while odometry says the vehicle drives
at 10 m/s and turns: every object then moves over the ground as a point fixed to the vehicle
does, v = v_ego + yaw rate x position; without odometry the velocities stay relative."""

# ruff: noqa: E402  (ROS imports follow the skip-or-fail check)
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ros_fixtures import raw_frame, require_ros, stamp_ns_of, wait_until

require_ros("hybridnets_ros.msg")

from hybridnets_ros.msg import TrackedObjectArray
from nav_msgs.msg import Odometry
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_session import Ros, next_stamp, odometry

SPEED, YAW_RATE = 10.0, 0.2  # m/s forward, rad/s left
EAGER = {"low_score": 0.0, "high_score": 0.0, "new_track_score": 0.0, "min_hits": 1}
PLACED = {"objects.bottom_margin_px": 0.0, "objects.side_margin_px": 0.0, "grid.x_max": 200.0}
PLACED |= {"grid.y_min": -100.0, "grid.y_max": 100.0}
STEP_NS = 100_000_000  # 10 Hz


def start(ros: Ros, weights: Path, namespace: str, **extra: Any) -> tuple[Any, Any, list[Any]]:
    """A node that tracks every located detection at once; its listener and the received
    tracked objects."""
    node = ros.start_node(
        weights, namespace, **{f"tracking.{k}": v for k, v in EAGER.items()}, **PLACED, **extra
    )
    listener = ros.listener(namespace)
    received: list[Any] = []
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    listener.node.create_subscription(
        TrackedObjectArray, "hybridnets_node/tracked_objects", received.append, reliable
    )
    publisher = node.streams[""].publishers["tracked_objects"]
    assert wait_until(lambda: publisher.get_subscription_count() > 0, 10.0)
    return node, listener, received


def objects_at(received: list[Any], when: int) -> Any:
    found = wait_until(lambda: next((m for m in received if stamp_ns_of(m) == when), None), 20.0)
    assert found is not None and found.objects, "no tracked objects for the frame"
    return found


def test_objects_moving_with_the_vehicle_move_over_the_ground(ros: Ros, weights: Path) -> None:
    namespace = "/moving"
    node, listener, received = start(ros, weights, namespace, **{"ego.odometry_topic": "odom"})
    odometry_pub = listener.node.create_publisher(Odometry, f"{namespace}/odom", 50)
    assert wait_until(lambda: odometry_pub.get_subscription_count() > 0, 10.0)
    first = next_stamp()
    stamps = [first + i * STEP_NS for i in range(4)]
    for index in range(-2, 6):  # odometry from before the first frame to after the last
        t = index * STEP_NS / 1e9
        yaw = YAW_RATE * t  # a circle: position integrates the heading
        x, y = SPEED / YAW_RATE * np.sin(yaw), SPEED / YAW_RATE * (1 - np.cos(yaw))
        odometry_pub.publish(odometry(first + index * STEP_NS, x, y, yaw))
    assert wait_until(lambda: len(node.ego.history) == 8, 10.0)
    for when in stamps:
        listener.send_until_answered(raw_frame(1280, 720, "bgr8", when))
    last = objects_at(received, stamps[-1])
    for item in last.objects:
        assert not item.velocity_relative_to_vehicle
        position = item.pose.pose.position
        velocity = item.velocity.twist.linear
        # the tracker sees the objects stand still: their ground motion is the vehicle's
        # at their place (the yaw rate turns the vehicle about its own origin)
        expected = (SPEED - YAW_RATE * position.y, YAW_RATE * position.x)
        assert (velocity.x, velocity.y) == pytest.approx(expected, abs=0.05), item.id


def test_without_the_vehicles_motion_velocities_stay_relative(ros: Ros, weights: Path) -> None:
    _, listener, received = start(ros, weights, "/unmoving")
    when = next_stamp()
    listener.send_until_answered(raw_frame(1280, 720, "bgr8", when))
    for item in objects_at(received, when).objects:
        assert item.velocity_relative_to_vehicle
        assert abs(item.velocity.twist.linear.x) < 1e-6  # one frame: no motion seen yet
