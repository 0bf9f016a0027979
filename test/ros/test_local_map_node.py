"""~/local_map with real rclpy: frames placed in odom by nav_msgs/Odometry (interpolated to the
image stamp; tf2_ros is not installed with the PyPI wheels), published transient-local in
odom_frame; frames without a pose leave the map as it is and the node goes on; several cameras
fuse into the node's one map."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from ros_fixtures import raw_frame, require_ros, stamp_ns_of, wait_until

require_ros()

from nav_msgs.msg import OccupancyGrid, Odometry
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_session import GRID, Ros, next_stamp, odometry

from hybridnets_ros.node import HybridNetsNode

LATCHED = QoSProfile(
    depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
S = 1_000_000_000
RESOLUTION = 0.5  # a coarse map keeps the test cheap: 60 m at 0.5 m
SIZE = 60.0


def value_at(grid: Any, x: float, y: float) -> int:
    """The map value of the cell holding odom point (x, y)."""
    info = grid.info
    col = math.floor((x - info.origin.position.x) / info.resolution)
    row = math.floor((y - info.origin.position.y) / info.resolution)
    return int(np.asarray(grid.data, np.int8).reshape(info.height, info.width)[row, col])


def test_frames_with_odometry_build_a_latched_map_in_odom(ros: Ros, weights: Path) -> None:
    node: HybridNetsNode = ros.start_node(
        weights,
        "/mapping",
        conf_threshold=1.0,  # no detections: no object footprints on the map
        **{"ego.odometry_topic": "odometry", "local_map.resolution": RESOLUTION},
        **{"local_map.size_m": SIZE, "local_map.recentre_m": 5.0},
    )
    assert node.local_map_publisher.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
    listener = ros.listener("/mapping")
    maps: list[Any] = []
    listener.node.create_subscription(
        OccupancyGrid, "hybridnets_node/local_map", maps.append, LATCHED
    )
    odometry_pub = listener.node.create_publisher(Odometry, "odometry", 50)
    assert wait_until(lambda: node.local_map_publisher.get_subscription_count() > 0, 10.0)
    assert wait_until(lambda: odometry_pub.get_subscription_count() > 0, 10.0)

    first = 1000 * S + next_stamp()
    # driving along y at 10 m/s, heading +90 deg: at the image stamp, (100.5, 20.5)
    odometry_pub.publish(odometry(first - S // 20, 100.5, 20.0, math.pi / 2))
    odometry_pub.publish(odometry(first + S // 20, 100.5, 21.0, math.pi / 2))
    assert wait_until(lambda: len(node.ego.history) == 2, 10.0)
    frame = raw_frame(640, 480, "bgr8", first)
    listener.send_until_answered(frame)
    latest = wait_until(lambda: next((m for m in maps if stamp_ns_of(m) == first), None), 20.0)
    assert latest is not None, "no ~/local_map with the image's stamp"
    assert latest.header.frame_id == "odom"
    info = latest.info
    cells = round(SIZE / RESOLUTION)
    assert (info.width, info.height, info.resolution) == (cells, cells, RESOLUTION)
    corner = (math.floor(100.5 / RESOLUTION) - cells // 2, math.floor(20.5 / RESOLUTION) - 60)
    origin = (info.origin.position.x, info.origin.position.y)
    assert origin == (corner[0] * RESOLUTION, corner[1] * RESOLUTION)
    # the test weights' road covers every pixel: once seen, a cell is likely drivable (40);
    # the camera looks along odom +y (the vehicle's heading) and sees nothing behind it
    free = round(100 / (1 + math.exp(node.settings.local_map.miss_log_odds)))
    assert value_at(latest, 100.5, 20.5 + 10.0) == free
    assert value_at(latest, 100.5 - 2.0, 20.5 + GRID["x_max"] - 1.0) == free
    assert value_at(latest, 100.5 + 10.0, 20.5) == -1  # to the vehicle's right, off the grid
    assert value_at(latest, 100.5, 20.5 - 5.0) == -1  # behind it
    values = np.asarray(latest.data)
    assert set(np.unique(values)) == {-1, free}

    # no odometry near this frame's stamp: answered, the map left alone
    lost = first + 10 * S
    listener.send_until_answered(raw_frame(640, 480, "bgr8", lost))
    # odometry again: this frame's map follows the one before, so none came for `lost`
    last = first + 20 * S
    odometry_pub.publish(odometry(last, 100.5, 30.0, math.pi / 2))
    assert wait_until(lambda: len(node.ego.history) == 3, 10.0)
    listener.send_until_answered(raw_frame(640, 480, "bgr8", last))
    moved = wait_until(lambda: next((m for m in maps if stamp_ns_of(m) == last), None), 20.0)
    assert moved is not None, "no ~/local_map for the frame with odometry"
    assert not any(stamp_ns_of(m) == lost for m in maps)
    assert moved.info.origin.position.y == (math.floor(30.0 / RESOLUTION) - 60) * RESOLUTION
    # 9.5 m further on: cells only the first frame saw decayed over 20 s of stamp time
    # (0.4 - 20 x 0.2 < 0: unknown again), cells both saw kept the first's evidence (a cell
    # observed does not decay), cells only this frame sees are new
    assert value_at(moved, 100.5, 20.5 + 2.0) == -1
    twice = round(100 / (1 + math.exp(2 * node.settings.local_map.miss_log_odds)))
    assert value_at(moved, 100.5, 30.0 + 10.0) == twice
    assert value_at(moved, 100.5, 20.5 + 21.0) == free


def test_without_a_pose_the_node_goes_on_and_publishes_no_map(ros: Ros, weights: Path) -> None:
    node: HybridNetsNode = ros.start_node(weights, "/unplaced")
    listener = ros.listener("/unplaced")
    maps: list[Any] = []
    listener.node.create_subscription(
        OccupancyGrid, "hybridnets_node/local_map", maps.append, LATCHED
    )
    assert wait_until(lambda: node.local_map_publisher.get_subscription_count() > 0, 10.0)
    for _ in range(2):
        frame = raw_frame(640, 480, "bgr8", next_stamp())
        listener.send_until_answered(frame)
        listener.wait_for("grid", stamp_ns_of(frame))  # the ground grid is made; no pose
    assert node.local_map.window is None and not maps
    assert node.state == "active" and node.stats.counts["failed"] == 0


def test_several_cameras_fuse_into_one_map(ros: Ros, weights: Path) -> None:
    """A front and a rear camera (yaw pi) through one network: one ~/local_map, both seen."""
    namespace = "/multimap"
    node: HybridNetsNode = ros.start_node(
        weights,
        namespace,
        cameras=["front", "rear"],
        batch_timeout=2.0,
        conf_threshold=1.0,
        **{"rear.camera.yaw": math.pi, "rear.grid.x_min": -20.0, "rear.grid.x_max": 0.0},
        **{"ego.odometry_topic": "/multimap/odometry"},
        **{"local_map.resolution": RESOLUTION, "local_map.size_m": SIZE},
    )
    listeners = {
        camera: ros.listener(f"{namespace}/{camera}", f"{namespace}/hybridnets_node/{camera}")
        for camera in ("front", "rear")
    }
    front = listeners["front"].node
    maps: list[Any] = []
    front.create_subscription(OccupancyGrid, f"{namespace}/hybridnets_node/local_map", maps.append,
                              LATCHED)  # fmt: skip
    odometry_pub = front.create_publisher(Odometry, f"{namespace}/odometry", 50)
    assert wait_until(lambda: node.local_map_publisher.get_subscription_count() > 0, 10.0)
    assert wait_until(lambda: odometry_pub.get_subscription_count() > 0, 10.0)
    when = 2000 * S + next_stamp()
    odometry_pub.publish(odometry(when, 5.0, -3.0, 0.0))
    assert wait_until(lambda: len(node.ego.history) == 1, 10.0)
    for listener in listeners.values():
        assert wait_until(lambda ls=listener: ls.raw.get_subscription_count() > 0, 10.0)
        listener.raw.publish(raw_frame(640, 480, "bgr8", when))
    free = round(100 / (1 + math.exp(node.settings.local_map.miss_log_odds)))

    def both_seen() -> Any:
        return next(
            (
                m
                for m in maps
                if stamp_ns_of(m) == when
                and value_at(m, 5.0 + 10.0, -3.0) == free  # ahead: the front camera
                and value_at(m, 5.0 - 10.0, -3.0) == free  # behind: the rear camera
            ),
            None,
        )

    fused = wait_until(both_seen, 60.0)
    assert fused is not None, "no ~/local_map holding both cameras' grids"
    assert value_at(fused, 5.0, -3.0 + 10.0) == -1  # to the left: neither camera's grid
