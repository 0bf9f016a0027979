"""One camera's pose check fed from its frames: the ego lane fitted from the lane mask, placed
with the pose the frame used, into a `CalibrationMonitor` (scene/calibration_check.py).

An estimate's bisection costs several lane fits, so only every `settings.every_n_frames`-th
frame is checked, reusing its lanes where an output fitted them. Thread-safe: frames are
added on one thread, reports read on another.
"""

from __future__ import annotations

import threading

from ..scene.calibration_check import (
    CalibrationCheckSettings,
    CalibrationMonitor,
    CalibrationReport,
)
from ..scene.ground import CameraPose, OpticalPose
from ..scene.lanes import fit_lanes
from .session import CameraSession, SessionFrame


class CalibrationFeed:
    """A CalibrationMonitor and the frame count that paces its sampling."""

    def __init__(self, settings: CalibrationCheckSettings) -> None:
        self.settings = settings
        self.monitor = CalibrationMonitor(settings)
        self.frames = 0
        self._lock = threading.Lock()

    def add(
        self, session: CameraSession, made: SessionFrame, pose: CameraPose | OpticalPose
    ) -> bool:
        """Feed one frame placed with `pose` (the one its outputs used) when its turn has come
        (every_n_frames; 0: never); whether it was."""
        self.frames += 1
        every = self.settings.every_n_frames
        if made.camera is None or every == 0 or self.frames % every:
            return False
        scene = session.outputs.scene
        points = scene.lane_points(made.result, made.camera, pose)
        if points is None:
            return False
        lanes = made.lanes if made.lanes is not None else fit_lanes(points, scene.lane_settings)
        with self._lock:
            self.monitor.add(lanes, pose, points)
        return True

    def report(self) -> CalibrationReport:
        """The monitor's medians and problems so far."""
        with self._lock:
            return self.monitor.report()
