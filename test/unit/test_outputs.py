"""The one output layer: the node's rclpy messages and the bag writer's rosbags messages of the
same frame are byte for byte the same, for every output; settings switch outputs off."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

import numpy as np
import pytest
from ros_fixtures import make_weights, require_ros

require_ros()

from rclpy.serialization import serialize_message

from hybridnets_core.bag.typestore import RosbagsFactory, typestore
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.outputs.frame import OUTPUT_TYPES, FrameOutputs
from hybridnets_core.outputs.settings import GroundSettings, OutputSettings
from hybridnets_core.scene.ground import CameraIntrinsics, GridSpec, PinholeParameters
from hybridnets_core.settings import DetectionSettings
from hybridnets_ros.messages import RclpyFactory

STAMP = 1_700_000_123_456_789_000


@pytest.fixture(scope="module")
def frame(tmp_path_factory: pytest.TempPathFactory, dashcam_frame):
    weights = make_weights(tmp_path_factory.mktemp("weights") / "full.pth")
    pipeline = Pipeline.from_weights(weights, detection=DetectionSettings(conf_threshold=0.0))
    return pipeline(dashcam_frame), pipeline.class_names


def build(factory, settings: OutputSettings, frame, names, image) -> dict:
    outputs = FrameOutputs(factory, settings, names)
    camera = CameraIntrinsics(900.0, 900.0, 639.5, 359.5, 1280, 720)
    return outputs.build(frame, STAMP, "camera_optical", OUTPUT_TYPES, camera, image, "bgr")


def test_node_and_bag_messages_are_identical(frame, dashcam_frame) -> None:
    result, names = frame
    settings = OutputSettings(ground=GroundSettings(grid=GridSpec(0.0, 30.0, -8.0, 8.0, 0.25)))
    live = build(RclpyFactory(), settings, result, names, dashcam_frame)
    recorded = build(RosbagsFactory(), settings, result, names, dashcam_frame)
    assert set(live) == set(recorded) == set(OUTPUT_TYPES)
    store = typestore()
    for name, message in live.items():
        msgtype = OUTPUT_TYPES[name]
        # Fast DDS leaves alignment padding unset, so both sides are compared after one
        # round trip through the same serializer: equal bytes mean every field is equal.
        sent = store.deserialize_cdr(serialize_message(message), msgtype)
        assert bytes(store.serialize_cdr(sent, msgtype)) == bytes(
            store.serialize_cdr(recorded[name], msgtype)
        ), name
    assert len(live["detections"].detections) == 100
    assert live["grid"].header.frame_id == "base_link"
    assert live["detections"].header.frame_id == "camera_optical"


def test_settings_switch_ground_outputs_and_name_classes(frame, dashcam_frame) -> None:
    result, _ = frame
    settings = OutputSettings(publish_grid=False, publish_lane_points=False)
    built = build(RosbagsFactory(), settings, result, ["auto", "coach"], dashcam_frame)
    assert "grid" not in built and "lane_points" not in built and "drivable_mask" in built
    names = {d.results[0].hypothesis.class_id for d in built["detections"].detections}
    assert names <= {"auto", "coach"} and names
    outputs = FrameOutputs(RosbagsFactory(), OutputSettings(), ["car", "bus"])
    none = outputs.build(result, STAMP, "camera", {"grid", "lane_points"})
    assert none == {}  # no camera_info and no camera.fx/fy: no ground outputs
    fallback = OutputSettings(
        ground=GroundSettings(intrinsics=PinholeParameters(900.0, 900.0, 639.5, 359.5))
    )
    outputs = FrameOutputs(RosbagsFactory(), fallback, ["car", "bus"])
    assert set(outputs.build(result, STAMP, "camera", {"grid", "lane_points"})) == {
        "grid",
        "lane_points",
    }
    assert outputs.projector_builds == 1
    outputs.build(result, STAMP + 1, "camera", {"grid"})
    assert outputs.projector_builds == 1  # same calibration: the mapping is reused


def test_mask_resolution_network(frame) -> None:
    result, names = frame
    result.__dict__.pop("masks", None)
    result.mask_resolution = "network"
    try:
        built = FrameOutputs(RosbagsFactory(), OutputSettings(), names).build(
            result, STAMP, "camera", {"lane_mask"}
        )
        assert (built["lane_mask"].height, built["lane_mask"].width) == (216, 384)
        assert set(np.unique(built["lane_mask"].data)) == {255}
    finally:
        result.__dict__.pop("masks", None)
        result.mask_resolution = "source"
