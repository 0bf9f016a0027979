"""The camera pose check fed from a camera session (serving/calibration.py), as the node feeds it:
the built-in model on synthetic drive frames, estimates only every Nth frame, with or without
lanes fitted by an output, and none when it is off."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hybridnets_core.bag.drive import CAMERA_HEIGHT_M, SyntheticDrive
from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.outputs import messages
from hybridnets_core.outputs.settings import GroundSettings, OutputSettings
from hybridnets_core.scene.calibration_check import CalibrationCheckSettings
from hybridnets_core.scene.ground import CameraPose
from hybridnets_core.serving.calibration import CalibrationFeed
from hybridnets_core.serving.session import CameraSession, SessionFrame

FACTORY = RosbagsFactory()
FRAMES = 6
POSE = CameraPose(z=CAMERA_HEIGHT_M, pitch=-math.radians(1.5))  # the drive's camera is level


@pytest.fixture(scope="module")
def frames() -> list[tuple[CameraSession, SessionFrame]]:
    """Each drive frame through one session, with and without the ego lane output."""
    drive = SyntheticDrive(seed=2, size=(640, 360), fps=10.0)
    pipeline = Pipeline.from_weights(None)
    made = []
    for wanted in ({"detections"}, {"detections", "ego_lane/center"}):
        settings = OutputSettings(ground=GroundSettings(camera=POSE))
        session = CameraSession(FACTORY, settings, pipeline.class_names)
        for index in range(FRAMES):
            stamp = 1_700_000_000_000_000_000 + index * 100_000_000
            header = messages.header(FACTORY, stamp, "camera")
            session.add_camera_info(messages.camera_info(FACTORY, drive.intrinsics, header))
            pixels = np.ascontiguousarray(drive.render(index).image)
            image = session.decode(messages.image(FACTORY, pixels, "bgr8", header))
            result = pipeline.run_batch([image.pixels], image.color)[0]
            made.append((session, session.process(result, image, wanted)))
    return made


def test_every_nth_frame_gives_an_estimate(frames) -> None:
    without_lanes, with_lanes = frames[:FRAMES], frames[FRAMES:]
    assert all(made.lanes is None for _, made in without_lanes)
    assert all(made.lanes is not None for _, made in with_lanes)
    for feed_frames in (without_lanes, with_lanes):
        feed = CalibrationFeed(CalibrationCheckSettings(every_n_frames=3, min_frames=1))
        fed = [feed.add(session, made, POSE) for session, made in feed_frames]
        assert fed == [False, False, True, False, False, True]
        report = feed.report()
        assert 1 <= report.frames <= 2  # a frame whose ego lane is not seen gives none
        assert report.pitch_error_deg == pytest.approx(1.5, abs=0.5)
        assert "further down" in report.problems[0]
    off = CalibrationFeed(CalibrationCheckSettings(every_n_frames=0))
    assert not any(off.add(session, made, POSE) for session, made in without_lanes)
    assert off.report().frames == 0
