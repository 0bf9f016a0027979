"""The camera pose check: lane boundaries projected by OpenCV with the true pose, placed on the
ground with a deliberately wrong one, give back the pitch and height errors; and the same on
the true lane masks of a synthetic drive, through the lane fit the node uses."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from hybridnets_core.bag.drive import CAMERA_HEIGHT_M, SyntheticDrive
from hybridnets_core.errors import ConfigError
from hybridnets_core.scene.calibration_check import (
    CalibrationCheckSettings,
    CalibrationMonitor,
    estimate_frame,
)
from hybridnets_core.scene.camera import CameraIntrinsics, CameraModel
from hybridnets_core.scene.ground import CameraPose, GroundProjector, intersect_ground
from hybridnets_core.scene.lanes import LaneSettings, fit_lanes

CAM = CameraIntrinsics(1000.0, 1000.0, 639.5, 359.5, 1280, 720)
TRUE_POSE = CameraPose(x=1.5, y=0.0, z=1.5, pitch=math.radians(1.0))
LANE = 3.5


def lanes_seen_with(configured: CameraPose, lateral: tuple[float, ...] = (1.75, -1.75)) -> object:
    """Straight lane lines at `lateral` (m) projected by OpenCV with TRUE_POSE, placed on the
    ground with `configured`, fitted as the node fits them."""
    x = np.arange(5.0, 45.0, 0.05)  # dense, as the pixels of a lane mask are
    points = []
    for y in lateral:
        world = np.column_stack([x, np.full_like(x, y), np.zeros_like(x)])
        optical_pose = TRUE_POSE.optical_pose()
        optical = (world - optical_pose.position) @ optical_pose.rotation_matrix()
        pixels, _ = cv2.projectPoints(optical, np.zeros(3), np.zeros(3), CAM.matrix(), None)
        pixels = pixels.reshape(-1, 2)
        placed = configured.optical_pose()
        rays = placed.to_grid(CameraModel(CAM).pixel_rays(pixels[:, 0], pixels[:, 1]))
        ground, hits = intersect_ground(rays, placed.position)
        points.append(ground[hits])
    return fit_lanes(np.concatenate(points))


@pytest.mark.parametrize("error_deg", [-3.0, -1.0, -0.5, 0.5, 1.0, 3.0])
def test_a_wrong_pitch_is_recovered(error_deg: float) -> None:
    """Configured `error_deg` less pitched down than the truth: the check says the camera
    looks that much further down."""
    configured = replace(TRUE_POSE, pitch=TRUE_POSE.pitch - math.radians(error_deg))
    estimate = estimate_frame(lanes_seen_with(configured), configured)
    assert estimate is not None
    assert math.degrees(estimate.pitch_error_rad) == pytest.approx(error_deg, abs=0.1)
    assert estimate.height_m == pytest.approx(TRUE_POSE.z, abs=0.02)


@pytest.mark.parametrize("height_error", [-0.2, 0.2])
def test_a_wrong_height_is_recovered_from_the_lane_width(height_error: float) -> None:
    configured = replace(TRUE_POSE, z=TRUE_POSE.z + height_error)
    estimate = estimate_frame(lanes_seen_with(configured), configured)
    assert estimate is not None
    assert estimate.height_m == pytest.approx(TRUE_POSE.z, abs=0.03)
    assert abs(math.degrees(estimate.pitch_error_rad)) < 0.1
    unknown = CalibrationCheckSettings(lane_width_m=0.0)
    assert estimate_frame(lanes_seen_with(configured), configured, unknown).height_m is None


def test_frames_without_an_ego_lane_give_nothing() -> None:
    assert estimate_frame(None, TRUE_POSE) is None
    one_line = lanes_seen_with(TRUE_POSE, lateral=(1.75,))
    assert estimate_frame(one_line, TRUE_POSE) is None


@pytest.mark.parametrize(
    ("pitch_error_deg", "height_error"),
    [(0.5, 0.0), (1.5, 0.0), (-3.0, 0.0), (0.0, 0.2), (0.0, -0.2)],
)
def test_a_synthetic_drive_replayed_with_a_wrong_pose_is_flagged(
    pitch_error_deg: float, height_error: float
) -> None:
    """The true lane masks of a synthetic drive (level camera at 1.5 m, its lane width
    known), placed with a pitch or height that is off: the window's medians recover it."""
    drive = SyntheticDrive(seed=2, size=(640, 360), fps=10.0)
    lane_width = drive.start.road.lane_width_m
    truth = CameraPose(z=CAMERA_HEIGHT_M)
    configured = replace(
        truth, pitch=-math.radians(pitch_error_deg), z=CAMERA_HEIGHT_M + height_error
    )
    settings = CalibrationCheckSettings(lane_width_m=lane_width, min_frames=5, window=30)
    monitor = CalibrationMonitor(settings)
    projector = GroundProjector(drive.intrinsics, configured, LaneSettings().ground_grid())
    for index in range(0, 48, 4):
        points = projector.ground_points(drive.render(index).lane > 0)
        monitor.add(fit_lanes(points), configured, points)
    report = monitor.report()
    assert report.frames >= 5
    assert report.pitch_error_deg == pytest.approx(pitch_error_deg, abs=0.3)
    assert report.height_m == pytest.approx(CAMERA_HEIGHT_M, abs=0.05)
    assert report.configured_height_m == pytest.approx(CAMERA_HEIGHT_M + height_error)
    if abs(pitch_error_deg) >= 1.0 or height_error:  # clearly beyond the tolerances
        assert len(report.problems) == 1
        assert ("pitch" if pitch_error_deg else "height") in report.problems[0]


def test_a_right_pose_raises_nothing_and_bad_settings_are_refused() -> None:
    monitor = CalibrationMonitor(CalibrationCheckSettings(min_frames=1))
    monitor.add(lanes_seen_with(TRUE_POSE), TRUE_POSE)
    assert monitor.report().problems == ()
    assert CalibrationMonitor().report().frames == 0
    with pytest.raises(ConfigError, match="calibration window"):
        CalibrationCheckSettings(window=0)
