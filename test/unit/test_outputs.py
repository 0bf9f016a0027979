"""The one output layer without ROS: settings switch outputs off and rename classes, the ground
mapping is reused, masks at network resolution (rclpy against rosbags: test/ros/)."""

# ruff: noqa: F811  (the fixtures imported from a helper module are requested by name)

from __future__ import annotations

import numpy as np
from output_fixtures import STAMP, build, frame  # noqa: F401 (fixture)

from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.outputs.frame import FrameOutputs
from hybridnets_core.outputs.settings import GroundSettings, OutputSettings
from hybridnets_core.scene.ground import PinholeParameters


def test_settings_switch_ground_outputs_and_name_classes(frame, dashcam_frame) -> None:
    result, _ = frame
    settings = OutputSettings(publish_grid=False, publish_lane_points=False)
    built = build(RosbagsFactory(), settings, result, ["auto", "coach"], dashcam_frame)
    assert "grid" not in built and "lane_points" not in built and "drivable_mask" in built
    names = {d.results[0].hypothesis.class_id for d in built["detections"].detections}
    assert names <= {"auto", "coach"} and names
    outputs = FrameOutputs(RosbagsFactory(), OutputSettings(), ["car", "bus"])
    none = outputs.build(result, STAMP, "camera", {"grid", "lane_points"})
    assert none.messages == {}  # no camera_info and no camera.fx/fy: no ground outputs
    assert not none.ground_rebuilt
    fallback = OutputSettings(
        ground=GroundSettings(intrinsics=PinholeParameters(900.0, 900.0, 639.5, 359.5))
    )
    outputs = FrameOutputs(RosbagsFactory(), fallback, ["car", "bus"])
    first = outputs.build(result, STAMP, "camera", {"grid", "lane_points"})
    assert set(first.messages) == {"grid", "lane_points"} and first.ground_rebuilt
    assert first.ground_build_ms > 0
    again = outputs.build(result, STAMP + 1, "camera", {"grid"})
    assert not again.ground_rebuilt  # same calibration: the mapping is reused


def test_mask_resolution_network(frame) -> None:
    result, names = frame
    result.__dict__.pop("masks", None)
    result.mask_resolution = "network"
    try:
        outputs = FrameOutputs(RosbagsFactory(), OutputSettings(), names)
        built = outputs.build(result, STAMP, "camera", {"lane_mask"}).messages
        assert (built["lane_mask"].height, built["lane_mask"].width) == (216, 384)
        assert set(np.unique(built["lane_mask"].data)) == {255}
    finally:
        result.__dict__.pop("masks", None)
        result.mask_resolution = "source"
