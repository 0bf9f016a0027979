"""The one output layer: the node's rclpy messages and the bag writer's rosbags messages of the
same frame are byte for byte the same, for every output."""

# ruff: noqa: E402, F811  (ROS imports follow the skip-or-fail check; the fixtures imported
# from a helper module are requested by name)
from __future__ import annotations

from output_fixtures import build, frame  # noqa: F401 (fixture)
from ros_fixtures import require_ros

require_ros()

from ros_session import assert_messages_equal

from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.outputs.frame import OUTPUT_TYPES
from hybridnets_core.outputs.settings import GroundSettings, OutputSettings
from hybridnets_core.scene.ground import GridSpec
from hybridnets_ros.messages import RclpyFactory


def test_node_and_bag_messages_are_identical(frame, dashcam_frame) -> None:
    result, names = frame
    settings = OutputSettings(ground=GroundSettings(grid=GridSpec(0.0, 30.0, -8.0, 8.0, 0.25)))
    live = build(RclpyFactory(), settings, result, names, dashcam_frame)
    recorded = build(RosbagsFactory(), settings, result, names, dashcam_frame)
    assert set(live) == set(recorded) == set(OUTPUT_TYPES)
    assert_messages_equal(live, recorded)
    assert len(live["detections"].detections) == 100
    assert live["grid"].header.frame_id == "base_link"
    assert live["detections"].header.frame_id == "camera_optical"
