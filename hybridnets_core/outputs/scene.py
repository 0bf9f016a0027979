"""What a planner needs beyond pixels, kept from frame to frame: objects on the ground, their
tracks, and the lane geometry.

Ground positions and tracks are computed for every frame (tracks must see every frame to keep
their ids); lanes only when an output needs them. Everything uses the ground outputs' camera
model and pose, so objects, lanes and the grid agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..inference.results import DRIVABLE_NAMES, LANE_NAMES, FrameResult
from ..scene.camera import CameraIntrinsics, CameraModel
from ..scene.contact import ContactSettings, drivable_contact_rows
from ..scene.ground import CachedProjector, CameraPose, GridSpec, OpticalPose, as_camera_model
from ..scene.lanes import LaneEstimate, LaneSettings, fit_lanes
from ..scene.objects import GroundObjects, ObjectSettings, locate_objects
from ..scene.track_shapes import TrackShapeMemory, TrackShapes
from ..scene.tracking import Tracker, TrackerSettings, TrackResult


@dataclass(frozen=True)
class SceneFrame:
    """One frame's objects (per detection, None without a camera), tracks and the tracks'
    centres and sizes on the ground (None when tracking is off)."""

    objects: GroundObjects | None
    tracks: TrackResult | None
    shapes: TrackShapes | None = None

    def track_ids(self, count: int) -> list[str]:
        """Each detection's track id ("" while unconfirmed or untracked)."""
        return list(self.tracks.detection_track_ids) if self.tracks else [""] * count


class SceneState:
    """The tracker and the lane projector of one camera stream, and the planner settings
    they use (`configure` changes them while the stream runs)."""

    def __init__(
        self,
        tracking: bool,
        objects: ObjectSettings | None = None,
        tracker: TrackerSettings | None = None,
        lanes: LaneSettings | None = None,
        contact: ContactSettings | None = None,
    ) -> None:
        self.tracker = Tracker() if tracking else None
        self._shapes = TrackShapeMemory()
        self._lane_projectors = CachedProjector()
        self.configure(
            objects or ObjectSettings(),
            tracker or TrackerSettings(),
            lanes or LaneSettings(),
            contact or ContactSettings(),
        )

    def configure(
        self,
        objects: ObjectSettings,
        tracker: TrackerSettings,
        lanes: LaneSettings,
        contact: ContactSettings,
    ) -> None:
        """Use these settings from the next frame on. Tracks and their ids stay; a lane range
        that changes the lane grid rebuilds the lane projector at the next lane estimate."""
        self.object_settings = objects
        self.contact_settings = contact
        # one assignment, so a frame in flight reads a grid that matches its lane settings
        self._lanes = (lanes, lanes.ground_grid())
        if self.tracker is not None:
            self.tracker.configure(tracker)

    @property
    def lane_settings(self) -> LaneSettings:
        """The lane settings in use."""
        return self._lanes[0]

    def update(
        self,
        frame: FrameResult,
        stamp: int,
        camera: CameraModel | CameraIntrinsics | None,
        pose: CameraPose | OpticalPose,
        grid: GridSpec,
        class_names: list[str],
        contact_from_drivable: bool = True,
    ) -> SceneFrame:
        """Locate this frame's detections on the ground (with a camera; where the drivable
        area resumes below them, if asked and seen), track them and place the tracks."""
        objects = None
        if camera is not None:
            height, width = frame.image_size
            source_camera = as_camera_model(camera).scaled_to(width, height)
            objects = locate_objects(
                frame.boxes,
                frame.class_ids,
                class_names,
                source_camera,
                pose,
                grid,
                self.object_settings,
                self._contact_rows(frame) if contact_from_drivable else None,
            )
        tracks = self._track(frame, stamp, objects)
        if tracks is None:
            return SceneFrame(objects, None)
        max_age_s = self.tracker.settings.max_age_s
        shapes = self._shapes.update(tracks, objects, class_names, self.object_settings, max_age_s)
        return SceneFrame(objects, tracks, shapes)

    def _contact_rows(self, frame: FrameResult) -> np.ndarray | None:
        """Each detection's contact row from the drivable-area mask (NaN where not seen)."""
        drivable = frame.network_mask(DRIVABLE_NAMES)
        if drivable is None or not len(frame):
            return None
        scale = frame.letterbox.scale
        return drivable_contact_rows(frame.boxes, drivable, scale, self.contact_settings)

    def _track(
        self, frame: FrameResult, stamp: int, objects: GroundObjects | None
    ) -> TrackResult | None:
        if self.tracker is None:
            return None
        ground = {}
        if objects is not None:
            ground = {
                "ground_xy": objects.position,
                "ground_cov": objects.noise_covariance,
                "ground_bias_cov": objects.bias_covariance,
                "ground_valid": objects.valid,
            }
        try:
            return self.tracker.update(stamp, frame.boxes, frame.scores, frame.class_ids, **ground)
        except InputError:  # stamps went backwards (a bag replayed again): start afresh
            self.tracker.reset()
            return self.tracker.update(stamp, frame.boxes, frame.scores, frame.class_ids, **ground)

    def lanes(
        self,
        frame: FrameResult,
        camera: CameraModel | CameraIntrinsics | None,
        pose: CameraPose | OpticalPose,
    ) -> LaneEstimate | None:
        """Lane lines and the ego lane from the network-resolution lane mask, or None."""
        settings, grid = self._lanes  # read once: a grid that matches its settings
        points = self.lane_points(frame, camera, pose, grid)
        return None if points is None else fit_lanes(points, settings)

    def lane_points(
        self,
        frame: FrameResult,
        camera: CameraModel | CameraIntrinsics | None,
        pose: CameraPose | OpticalPose,
        grid: GridSpec | None = None,
    ) -> np.ndarray | None:
        """The network-resolution lane mask's pixels on the ground [N, 3] (what `lanes` fits)
        within `grid` (default: the lane settings' grid), or None without a camera or a lane
        mask."""
        mask = frame.network_mask(LANE_NAMES)
        if camera is None or mask is None:
            return None
        grid = grid or self._lanes[1]
        projector, _ = self._lane_projectors.get(camera, mask.shape, pose, grid)
        return projector.ground_points(np.ascontiguousarray(mask))
