"""The node's camera pose check: frames of a synthetic drive (a level camera at 1.5 m) into a
node configured 1.5 deg less pitched down than that, and its /diagnostics WARN per camera."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from ros_fixtures import require_ros, stamp, wait_until

require_ros()

from ros_session import Ros
from sensor_msgs.msg import Image

from hybridnets_core.bag.drive import CAMERA_HEIGHT_M, SyntheticDrive

PITCH_ERROR_DEG = 1.5
MIN_FRAMES = 3


def calibration_status(listener: Any, name: str) -> Any:
    """The newest calibration status of `name` on /diagnostics with MIN_FRAMES estimates."""
    for array in reversed(listener.received("diagnostics")):
        for status in array.status:
            values = {kv.key: kv.value for kv in status.values}
            if status.name == name and int(values.get("frames", 0)) >= MIN_FRAMES:
                return status
    return None


def test_a_wrong_camera_pitch_raises_a_calibration_warning(ros: Ros) -> None:
    from diagnostic_msgs.msg import DiagnosticStatus

    drive = SyntheticDrive(seed=2, size=(640, 360), fps=10.0)
    camera = drive.intrinsics
    node = ros.start_node(
        "",
        "/calibration",
        **{"camera.fx": camera.fx, "camera.fy": camera.fy, "camera.cx": camera.cx},
        **{"camera.cy": camera.cy, "camera.z": CAMERA_HEIGHT_M},
        **{"camera.pitch": -math.radians(PITCH_ERROR_DEG)},  # the truth is level
        **{"calibration_check.min_frames": MIN_FRAMES, "calibration_check.every_n_frames": 1},
        **{"calibration_check.lane_width_m": drive.start.road.lane_width_m},
    )
    listener = ros.listener("/calibration")
    for index in range(MIN_FRAMES + 1):  # a frame or so may give no estimate
        frame = Image(height=360, width=640, encoding="bgr8", step=640 * 3)
        frame.data = np.ascontiguousarray(drive.render(index).image).tobytes()
        stamp(frame, 1_800_000_000_000_000_000 + index * 100_000_000)
        listener.send(frame, timeout=60.0)
    name = f"{node.get_fully_qualified_name()}: calibration camera"
    status = wait_until(lambda: calibration_status(listener, name), 20.0)
    assert status is not None, f"no {name!r} status with {MIN_FRAMES} estimates"
    values = {kv.key: kv.value for kv in status.values}
    assert status.level == DiagnosticStatus.WARN
    assert "pitch" in status.message and "further down" in status.message
    assert float(values["pitch_error_deg"]) == pytest.approx(PITCH_ERROR_DEG, abs=0.4)
    assert float(values["configured_height_m"]) == CAMERA_HEIGHT_M
