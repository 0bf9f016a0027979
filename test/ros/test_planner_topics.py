"""~/tracked_objects, ~/lead_vehicle and ~/lanes with real rclpy: a camera's node publishes our
own messages under its namespace to real subscribers, stamped with the image in grid_frame, the
tracked objects named by the Detection3D ids of the same frame; the rclpy and rosbags
factories give the same bytes for them with tracks present."""

# ruff: noqa: E402, F811  (ROS imports follow the skip-or-fail check; the fixtures imported
# from a helper module are requested by name)
from __future__ import annotations

from pathlib import Path
from typing import Any

from output_fixtures import STAMP, frame  # noqa: F401 (fixture)
from ros_fixtures import FRAME_ID, raw_frame, require_ros, stamp_ns_of, wait_until

require_ros("hybridnets_ros.msg")

from hybridnets_ros.msg import LaneArray, LeadVehicle, TrackedObjectArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_session import Ros, assert_messages_equal, next_stamp
from vision_msgs.msg import Detection3DArray

from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.outputs.frame import FrameOutputs
from hybridnets_core.outputs.settings import OutputSettings
from hybridnets_core.scene.ground import CameraIntrinsics
from hybridnets_core.scene.objects import ObjectSettings
from hybridnets_core.scene.tracking import TrackerSettings
from hybridnets_ros.messages import RclpyFactory

PLANNER = {"tracked_objects": TrackedObjectArray, "lead_vehicle": LeadVehicle, "lanes": LaneArray}
# every random-weight detection may start a track, confirmed at once
EAGER = {"low_score": 0.0, "high_score": 0.0, "new_track_score": 0.0, "min_hits": 1}


def test_a_camera_publishes_the_planner_topics_under_its_namespace(ros: Ros, weights: Path) -> None:
    namespace = "/planning"
    node = ros.start_node(
        weights,
        namespace,
        cameras=["front"],
        grid_frame="vehicle",
        **{f"front.tracking.{name}": value for name, value in EAGER.items()},
        # the random weights' boxes reach a 640 px image's right edge (never located) and end
        # just short of a 1280 px one's: with no side margin some of those are located
        **{"front.objects.bottom_margin_px": 0.0, "front.objects.side_margin_px": 0.0},
        **{"front.grid.x_max": 200.0, "front.grid.y_min": -100.0, "front.grid.y_max": 100.0},
    )
    topics = {name: node.streams["front"].publishers[name].topic_name for name in PLANNER}
    assert topics == {name: f"{namespace}/hybridnets_node/front/{name}" for name in PLANNER}
    listener = ros.listener(f"{namespace}/front", f"{namespace}/hybridnets_node/front")
    received: dict[str, list[Any]] = {name: [] for name in (*PLANNER, "objects")}
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    for name, kind in {**PLANNER, "objects": Detection3DArray}.items():
        topic = f"{namespace}/hybridnets_node/front/{name}"
        listener.node.create_subscription(kind, topic, received[name].append, reliable)
    publishers = node.streams["front"].publishers
    assert wait_until(lambda: all(publishers[n].get_subscription_count() for n in PLANNER), 10.0)

    def of_stamp(name: str, when: int) -> Any:
        return wait_until(
            lambda: next((m for m in received[name] if stamp_ns_of(m) == when), None), 20.0
        )

    image = raw_frame(1280, 720, "bgr8", next_stamp())
    listener.send_until_answered(image)
    when = stamp_ns_of(image)
    built = {name: of_stamp(name, when) for name in (*PLANNER, "objects")}
    assert all(message is not None for message in built.values()), built
    for name in PLANNER:
        assert built[name].header.frame_id == "vehicle", name
    located = {d.id for d in built["objects"].detections}
    assert located and "" not in located  # every located detection started a confirmed track
    tracked = {item.id: item for item in built["tracked_objects"].objects}
    assert set(tracked) == located
    assert all(item.cameras == [FRAME_ID] for item in tracked.values())
    lead = built["lead_vehicle"]
    assert not lead.present or lead.id in tracked
    for boundary in built["lanes"].boundaries:
        assert len(boundary.points) and 0.0 <= boundary.confidence <= 1.0


def test_node_and_bag_planner_messages_are_identical_with_tracks(frame, dashcam_frame) -> None:
    """Two frames, so the second has confirmed (eagerly started) tracks to compare. The
    dashcam frame's cars touch its right edge: a 2 px side margin locates them, so the tracks
    carry positions, velocities and lanes to compare."""
    result, names = frame
    located = ObjectSettings(side_margin_px=2.0)
    settings = OutputSettings(tracking=TrackerSettings(**EAGER), objects=located)
    camera = CameraIntrinsics(900.0, 900.0, 639.5, 359.5, 1280, 720)
    made = {}
    for factory in (RclpyFactory(), RosbagsFactory()):
        outputs = FrameOutputs(factory, settings, names)
        for stamp in (STAMP, STAMP + 100_000_000):
            built = outputs.build(result, stamp, "camera_optical", set(PLANNER), camera)
        made[type(factory).__name__] = built.messages
    live, recorded = made["RclpyFactory"], made["RosbagsFactory"]
    assert set(live) == set(recorded) == set(PLANNER)
    assert len(recorded["tracked_objects"].objects) > 0
    assert_messages_equal(live, recorded)
