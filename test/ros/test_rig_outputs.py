"""The rig's own outputs with real rclpy: with named cameras, ~/objects holds every camera's
tracks fused into one object per physical object and ~/grid the surround grid."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from ros_fixtures import raw_frame, require_ros, stamp_ns_of, wait_until

require_ros("hybridnets_ros.msg")

from hybridnets_ros.msg import LeadVehicle, TrackedObject, TrackedObjectArray
from nav_msgs.msg import OccupancyGrid
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_session import Ros, next_stamp
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection3DArray

from hybridnets_core.bag.drive import SyntheticDrive
from hybridnets_ros.node import HybridNetsNode

RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(
    depth=50, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
# one grid spec for every camera, so the surround grid takes them all
GRID = {"grid.x_min": -20.0, "grid.x_max": 20.0, "grid.y_min": -10.0, "grid.y_max": 10.0}


class RigRecorder:
    """Publishes each camera's frames and records the rig's and the cameras' outputs."""

    def __init__(self, ros: Ros, namespace: str, cameras: list[str], topic: str, kind: Any):
        self.listeners = {
            camera: ros.listener(f"{namespace}/{camera}", f"{namespace}/hybridnets_node/{camera}")
            for camera in cameras
        }
        node = self.listeners[cameras[0]].node
        self.messages: dict[str, list[Any]] = {}
        qos = LATCHED if kind is OccupancyGrid else RELIABLE
        for name in ["", *cameras]:
            path = f"{namespace}/hybridnets_node/{name + '/' if name else ''}{topic}"
            node.create_subscription(kind, path, self.messages.setdefault(name, []).append, qos)

    def send(self, node: HybridNetsNode, stamp: int, pixels: np.ndarray | None = None) -> None:
        """One frame per camera, all with `stamp` (one batch): `pixels` (bgr8), else a
        640x480 test frame."""
        for camera, listener in self.listeners.items():
            assert wait_until(lambda ls=listener: ls.raw.get_subscription_count() > 0, 10.0)
            if pixels is None:
                frame = raw_frame(640, 480, "bgr8", stamp)
            else:
                height, width = pixels.shape[:2]
                frame = Image(height=height, width=width, encoding="bgr8", step=width * 3)
                frame.data = pixels.tobytes()
                frame.header.stamp.sec, frame.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
            frame.header.frame_id = f"{camera}_optical"
            listener.raw.publish(frame)

    def at(self, name: str, stamp: int) -> Any:
        """The `name` camera's (or the rig's, "") message stamped `stamp`, or None."""
        return next((m for m in self.messages[name] if stamp_ns_of(m) == stamp), None)


def test_the_surround_grid_covers_what_each_camera_sees(ros: Ros, weights: Path) -> None:
    namespace = "/surround"
    cameras = ["front", "rear"]
    node = ros.start_node(
        weights,
        namespace,
        cameras=cameras,
        batch_timeout=2.0,
        conf_threshold=1.0,
        **GRID,
        **{"rear.camera.yaw": math.pi, "rear.camera.x": -1.0},
    )
    rig = RigRecorder(ros, namespace, cameras, "grid", OccupancyGrid)
    assert wait_until(lambda: node.rig_publishers["grid"].get_subscription_count() > 0, 10.0)
    stamp = next_stamp()
    rig.send(node, stamp)
    found = wait_until(lambda: all(rig.at(n, stamp) for n in ["", *cameras]), 60.0)
    assert found, "no surround grid and camera grids for the batch"
    merged, front, rear = (
        np.array(rig.at(n, stamp).data, dtype=np.int8) for n in ["", *cameras]
    )  # fmt: skip
    grid = rig.at("", stamp)
    assert grid.header.frame_id == "base_link"
    assert (grid.info.origin.position.x, grid.info.origin.position.y) == (-20.0, -10.0)
    seen_front, seen_rear = front != -1, rear != -1
    assert seen_front.any() and seen_rear.any() and not (seen_front & seen_rear).all()
    np.testing.assert_array_equal(merged != -1, seen_front | seen_rear)
    only_front, only_rear = seen_front & ~seen_rear, seen_rear & ~seen_front
    np.testing.assert_array_equal(merged[only_front], front[only_front])
    np.testing.assert_array_equal(merged[only_rear], rear[only_rear])


def test_two_cameras_seeing_the_same_view_give_one_object_each(ros: Ros) -> None:
    """Two cameras at one pose get the same frames of a synthetic drive (built-in model):
    every confirmed track of one has its twin in the other, so the fused objects are as many
    as one camera's, each id once, kept from frame to frame."""
    drive = SyntheticDrive(seed=3, size=(640, 360), fps=10.0)
    camera = drive.intrinsics
    namespace = "/twins"
    cameras = ["left_eye", "right_eye"]
    node = ros.start_node(
        "",
        namespace,
        cameras=cameras,
        batch_timeout=2.0,
        conf_threshold=0.25,
        max_detections=100,
        **{"camera.fx": camera.fx, "camera.fy": camera.fy, "camera.cx": camera.cx},
        **{"camera.cy": camera.cy, "camera.pitch": 0.0, "camera.z": 1.5},
        **{"grid.x_max": 40.0, "grid.y_min": -10.0, "grid.y_max": 10.0, "grid.resolution": 0.2},
    )
    rig = RigRecorder(ros, namespace, cameras, "objects", Detection3DArray)
    planner: dict[str, list[Any]] = {"tracked_objects": [], "lead_vehicle": []}
    subscriber = rig.listeners[cameras[0]].node
    for name, kind in (("tracked_objects", TrackedObjectArray), ("lead_vehicle", LeadVehicle)):
        topic = f"{namespace}/hybridnets_node/{name}"
        subscriber.create_subscription(kind, topic, planner[name].append, RELIABLE)
    for name in ("objects", *planner):
        publisher = node.rig_publishers[name]
        assert wait_until(lambda p=publisher: p.get_subscription_count() > 0, 10.0)
    stamps, fused_ids = [], []
    for index in range(8):
        stamp = 1_800_000_000_000_000_000 + index * 100_000_000
        rig.send(node, stamp, np.ascontiguousarray(drive.render(index).image))
        assert wait_until(lambda s=stamp: rig.at("", s), 60.0), "no fused objects for a batch"
        stamps.append(stamp)
        fused_ids.append({d.id for d in rig.at("", stamp).detections})
    last = stamps[-1]
    assert wait_until(lambda: all(rig.at(n, last) for n in cameras), 20.0)
    tracked = [sorted(d.id for d in rig.at(n, last).detections if d.id) for n in cameras]
    assert tracked[0] == tracked[1] and tracked[0], "both cameras track the same objects"
    fused = rig.at("", last)
    ids = [d.id for d in fused.detections]
    assert len(ids) == len(tracked[0]) and len(set(ids)) == len(ids)
    assert set.intersection(*fused_ids[5:])  # fused ids persist from frame to frame
    assert fused.header.frame_id == "base_link"
    for det in fused.detections:
        assert 0.0 < det.bbox.center.position.x < 40.0 and det.bbox.size.z > 0
    # the same objects as our tracked objects, each seen by both cameras, and the lead
    tracked = wait_until(lambda: next((m for m in planner["tracked_objects"]
                                       if stamp_ns_of(m) == last), None), 20.0)  # fmt: skip
    assert tracked is not None and sorted(o.id for o in tracked.objects) == sorted(ids)
    seen_now = [o for o in tracked.objects if o.cameras]
    optical = [f"{camera}_optical" for camera in cameras]
    assert seen_now and all(sorted(o.cameras) == optical for o in seen_now)
    assert all(o.velocity_relative_to_vehicle for o in tracked.objects)  # no odometry
    # the cameras' lanes reach the rig (estimated though no ~/<camera>/lanes is subscribed)
    assert any(o.lane_index != TrackedObject.LANE_UNKNOWN for o in tracked.objects)
    lead = wait_until(lambda: next((m for m in planner["lead_vehicle"]
                                    if stamp_ns_of(m) == last), None), 20.0)  # fmt: skip
    assert lead is not None and (not lead.present or lead.id in ids)
    assert node.state == "active" and node.stats.counts["failed"] == 0
