"""~/free_space and ~/grid's durability with real rclpy: the scan carries the image's stamp in
grid_frame and spans what the camera sees; the grid reaches transient-local subscribers (Nav2's
StaticLayer, RViz's Map display) unless `grid_qos: volatile`."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ros_fixtures import raw_frame, require_ros, stamp_ns_of, wait_until

require_ros()

from nav_msgs.msg import OccupancyGrid
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from ros_session import FOCAL, GRID, PITCH, Ros, next_stamp
from sensor_msgs.msg import LaserScan

from hybridnets_ros.node import HybridNetsNode

LATCHED = QoSProfile(
    depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


def publisher(node: HybridNetsNode, output: str) -> Any:
    """The node's publisher of one output."""
    return node.streams[""].publishers[output]


def test_free_space_is_a_scan_of_the_image_in_grid_frame(ros: Ros, weights: Path) -> None:
    node = ros.start_node(weights, "/free", grid_frame="vehicle")
    listener = ros.listener("/free")
    scans: list[Any] = []
    # as Nav2's ObstacleLayer subscribes: sensor data QoS (best effort)
    listener.node.create_subscription(
        LaserScan, "hybridnets_node/free_space", scans.append, qos_profile_sensor_data
    )
    assert wait_until(lambda: publisher(node, "free_space").get_subscription_count() > 0, 10.0)
    frame = raw_frame(640, 480, "bgr8", next_stamp())
    listener.send_until_answered(frame)
    scan = wait_until(lambda: next((s for s in scans if s.header == _ground(frame)), None), 20.0)
    assert scan is not None, "no ~/free_space with the image's stamp in grid_frame"
    reach = math.hypot(GRID["x_max"], GRID["y_max"])
    assert (scan.range_min, scan.range_max) == (0.0, pytest.approx(reach))
    assert 0 < scan.angle_increment <= GRID["resolution"] / reach + 1e-9
    count = round((scan.angle_max - scan.angle_min) / scan.angle_increment) + 1
    assert count == len(scan.ranges) > 50
    # a camera looking straight ahead: symmetric about +x; its widest bearing on the ground is
    # that of the bottom corner pixels (seen cell centres lie within half a pixel of them)
    assert scan.angle_min == pytest.approx(-scan.angle_max, abs=scan.angle_increment)
    corner = math.atan2(319.5 / FOCAL, math.cos(PITCH) - math.sin(PITCH) * 239.5 / FOCAL)
    assert scan.angle_max == pytest.approx(corner, abs=0.03)
    # the test weights' road covers every pixel: no return within range on any bearing
    assert np.all(np.isposinf(np.asarray(scan.ranges)))


def _ground(frame: Any) -> Any:
    """The header a ground output of `frame` carries: its stamp, frame_id grid_frame."""
    header = type(frame.header)()
    header.stamp = frame.header.stamp
    header.frame_id = "vehicle"
    return header


def test_a_late_transient_local_subscriber_gets_the_latest_grid(ros: Ros, weights: Path) -> None:
    node = ros.start_node(weights, "/latched")
    assert publisher(node, "grid").qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
    listener = ros.listener("/latched")  # volatile: it still matches, and makes the grid
    assert wait_until(lambda: publisher(node, "grid").get_subscription_count() > 0, 10.0)
    frame = raw_frame(640, 480, "bgr8", next_stamp())
    listener.send_until_answered(frame)
    listener.wait_for("grid", stamp_ns_of(frame))
    late: list[Any] = []
    listener.node.create_subscription(OccupancyGrid, "hybridnets_node/grid", late.append, LATCHED)
    assert wait_until(lambda: any(stamp_ns_of(g) == stamp_ns_of(frame) for g in late), 10.0)


def test_grid_qos_volatile_keeps_the_grid_volatile(ros: Ros, weights: Path) -> None:
    node = ros.start_node(weights, "/volatile", grid_qos="volatile")
    assert publisher(node, "grid").qos_profile.durability == DurabilityPolicy.VOLATILE
    assert node.describe_parameter("grid_qos").read_only
    assert "transient_local" in node.describe_parameter("grid_qos").additional_constraints
