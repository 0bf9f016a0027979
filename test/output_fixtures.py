"""One real frame through the pipeline and the outputs built from it with a given factory, for
the output-layer tests of both tiers (unit: rosbags messages; ros: rclpy against rosbags)."""

from __future__ import annotations

import pytest
from ros_fixtures import make_weights

from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.outputs.frame import OUTPUT_TYPES, FrameOutputs
from hybridnets_core.outputs.settings import OutputSettings
from hybridnets_core.scene.ground import CameraIntrinsics
from hybridnets_core.settings import DetectionSettings

STAMP = 1_700_000_123_456_789_000


@pytest.fixture(scope="module")
def frame(tmp_path_factory: pytest.TempPathFactory, dashcam_frame):
    weights = make_weights(tmp_path_factory.mktemp("weights") / "full.pth")
    pipeline = Pipeline.from_weights(weights, detection=DetectionSettings(conf_threshold=0.0))
    return pipeline(dashcam_frame), pipeline.class_names


def build(factory, settings: OutputSettings, frame, names, image) -> dict:
    outputs = FrameOutputs(factory, settings, names)
    camera = CameraIntrinsics(900.0, 900.0, 639.5, 359.5, 1280, 720)
    built = outputs.build(frame, STAMP, "camera_optical", OUTPUT_TYPES, camera, image, "bgr")
    return built.messages
