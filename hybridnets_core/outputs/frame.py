"""One frame result -> the node's output messages, the same for the live node and the bag tools.

Each output is one builder in `OUTPUTS`; a new output is one new function there (the node,
its demo and bag replay publish or record whatever that table holds). The caller says which
outputs it wants (the node: the topics with subscribers; bag-eval: all) and gets messages of
its own transport back, keyed by output name (the topic below the node).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from ..inference.results import FrameResult
from ..scene.camera import CameraIntrinsics, CameraModel
from ..scene.ego_motion import EgoTwist
from ..scene.free_space import CachedScanner
from ..scene.ground import CachedProjector, CameraPose, GridSpec, GroundProjector, OpticalPose
from ..scene.lanes import LaneEstimate, line_confidence
from ..scene.lead import PathAssessment, assess_path
from ..scene.path import boundary_indices
from . import messages
from .factory import MessageFactory
from .overlay import draw_overlay
from .scene import SceneFrame, SceneState
from .settings import OutputSettings

GROUND_OUTPUTS = ("grid", "free_space", "lane_points")
PATH_OUTPUTS = ("tracked_objects", "lead_vehicle")  # need the tracks against the lanes
LANE_OUTPUTS = (
    "ego_lane/center",
    "ego_lane/left",
    "ego_lane/right",
    "markers",
    "lanes",
    *PATH_OUTPUTS,
)
Z_VARIANCE = 0.1**2  # m^2: flat ground puts each box on z = 0 of grid_frame
MARKER_RGBA = {
    "lane_lines": (1.0, 1.0, 1.0, 0.9),
    "ego_lane": (0.1, 0.9, 0.2, 0.9),
    "objects": (1.0, 0.6, 0.1, 0.5),
    "track_ids": (1.0, 1.0, 1.0, 1.0),
    "velocities": (0.2, 0.6, 1.0, 0.9),
}
LINE_STRIP, CUBE, ARROW, TEXT = 4, 1, 0, 9  # visualization_msgs/Marker types


@dataclass(frozen=True)
class FrameContext:
    """What one frame's builders share: the result, headers, image, the camera model and
    ground projection it was placed with, its scene and lanes, the settings it was built
    under, its tracks against the lanes (None without tracks or when no output needs it) and
    the vehicle's own motion (None: not known, velocities stay relative to the vehicle)."""

    frame: FrameResult
    header: Any
    ground_header: Any
    image: np.ndarray | None
    color: str
    camera: CameraModel | CameraIntrinsics | None
    projector: GroundProjector | None
    scene: SceneFrame
    lanes: LaneEstimate | None
    settings: OutputSettings
    path: PathAssessment | None
    ego: EgoTwist | None = None

    @cached_property
    def occupancy(self) -> np.ndarray | None:
        """The drivable mask on the ground grid (GroundProjector.occupancy), made once for
        every output that reads it; None without a drivable mask or a camera model."""
        if self.frame.drivable is None or self.projector is None:
            return None
        return self.projector.occupancy(self.frame.drivable)


@dataclass(frozen=True)
class BuiltFrame:
    """One frame's messages by output name, what they were built from, and the ms spent
    rebuilding the pixel-to-cell mapping for it (None: the cached one was used, or none)."""

    messages: dict[str, Any]
    context: FrameContext
    ground_build_ms: float | None = None

    @property
    def ground_rebuilt(self) -> bool:
        """Whether this frame computed a new pixel-to-cell mapping."""
        return self.ground_build_ms is not None


def output_enabled(name: str, settings: OutputSettings) -> bool:
    """Whether the settings let this output be made at all."""
    if name == "grid":
        return settings.publish_grid
    if name == "free_space":
        return settings.publish_free_space
    if name == "lane_points":
        return settings.publish_lane_points
    return name in OUTPUT_TYPES


class FrameOutputs:
    """Builds the node's outputs of a frame through `factory` (rclpy or rosbags messages).

    Detection class names come from `class_names` (the node's `class_names` parameter or the
    model's). The ground outputs need intrinsics: the frame's camera_info, else the settings'
    camera.fx/fy/cx/cy; the pixel-to-cell mapping is cached and rebuilt only when the
    calibration, pose, grid or mask size changes (`BuiltFrame.ground_build_ms`).
    """

    def __init__(
        self, factory: MessageFactory, settings: OutputSettings, class_names: list[str]
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.class_names = list(class_names)
        self.scene = SceneState(
            settings.track_objects,
            objects=settings.objects,
            tracker=settings.tracking,
            lanes=settings.lanes,
            contact=settings.contact,
        )
        self._projectors = CachedProjector()
        self._scanners = CachedScanner()
        self._planner = self._planner_settings(settings)

    @staticmethod
    def _planner_settings(settings: OutputSettings) -> tuple[Any, ...]:
        return (settings.objects, settings.tracking, settings.lanes, settings.contact)

    def _configure_scene(self, settings: OutputSettings) -> None:
        """Give the scene this frame's planner settings when they changed (a runtime parameter
        change); tracks and their ids stay, `track_objects` stays as built."""
        planner = self._planner_settings(settings)
        if planner != self._planner:
            self.scene.configure(*planner)
            self._planner = planner

    def build(
        self,
        frame: FrameResult,
        stamp: int,
        frame_id: str,
        wanted: Container[str],
        camera_info: CameraModel | None = None,
        image: np.ndarray | None = None,
        color: str = "bgr",
        pose: OpticalPose | None = None,
        settings: OutputSettings | None = None,
        ground_grid: bool = False,
        ego: EgoTwist | None = None,
        estimate_lanes: bool = False,
    ) -> BuiltFrame:
        """Messages of the wanted, enabled outputs this frame can make, by output name.

        Every message carries the input's stamp and frame_id; the ground outputs carry the
        stamp in the vehicle frame. `image` (the source pixels) is needed for debug_image.
        `pose` (the camera's optical frame in grid_frame, from TF) replaces the settings' pose.
        `settings` are this frame's (default: those given at construction); the whole frame
        reads only them, so a change between frames never mixes into one. `ground_grid`: place
        the ground grid even when no wanted output needs it (the local map reads
        `context.occupancy`). `ego`: the vehicle's motion at this stamp, which turns the
        tracked objects' velocities into velocities over the ground. `estimate_lanes`: the lanes
        even when no wanted output needs them (the rig's path assessment reads them).
        """
        settings = settings or self.settings
        self._configure_scene(settings)
        ground = settings.ground
        names = [name for name in OUTPUT_TYPES if name in wanted and output_enabled(name, settings)]
        placement = pose if pose is not None else ground.camera
        height, width = frame.image_size
        camera = ground.camera_for(camera_info, width, height)
        projector = build_ms = None
        if ground_grid or any(name in GROUND_OUTPUTS for name in names):
            projector, build_ms = self._projector(frame, camera, placement, ground.grid)
        scene = self.scene.update(
            frame,
            stamp,
            camera,
            placement,
            ground.grid,
            self.class_names,
            settings.contact_from_drivable,
        )
        estimate_lanes = estimate_lanes or any(name in LANE_OUTPUTS for name in names)
        lanes = self.scene.lanes(frame, camera, placement) if estimate_lanes else None
        path = None
        if scene.tracks is not None and any(name in PATH_OUTPUTS for name in names):
            path = assess_path(
                scene.tracks, lanes, self.class_names, settings.lead, settings.path,
                settings.objects,
            )  # fmt: skip
        context = FrameContext(
            frame,
            messages.header(self.factory, stamp, frame_id),
            messages.header(self.factory, stamp, ground.grid_frame),
            image,
            color,
            camera,
            projector,
            scene,
            lanes,
            settings,
            path,
            ego,
        )
        built = {}
        for name in names:
            message = OUTPUTS[name][1](self, context)
            if message is not None:
                built[name] = message
        return BuiltFrame(built, context, build_ms)

    def _projector(
        self,
        frame: FrameResult,
        camera: CameraModel | CameraIntrinsics | None,
        placement: CameraPose | OpticalPose,
        grid: GridSpec,
    ) -> tuple[GroundProjector | None, float | None]:
        """The cached projector for this frame's masks (None without a camera or masks), and
        the ms spent rebuilding it (None when the cached one still fits)."""
        reference = frame.drivable if frame.drivable is not None else frame.lane
        if camera is None or reference is None:
            return None, None
        start = time.perf_counter()
        projector, rebuilt = self._projectors.get(camera, reference.shape, placement, grid)
        return projector, (time.perf_counter() - start) * 1000 if rebuilt else None

    # --- one builder per output ----------------------------------------------------------

    def _detections(self, context: FrameContext) -> Any:
        frame = context.frame
        names = [self.class_names[i] for i in frame.class_ids]
        ids = context.scene.track_ids(len(frame))
        return messages.detections_2d(
            self.factory, frame.boxes, frame.scores, names, ids, context.header
        )

    def _objects(self, context: FrameContext) -> Any:
        """Detections located on the ground; boxes without a position are left out."""
        frame, objects = context.frame, context.scene.objects
        if objects is None:
            return None
        keep = np.flatnonzero(objects.valid)
        size = objects.size[keep]
        centres = np.column_stack([objects.position[keep], size[:, 2] / 2])
        covariances = [messages.pose_covariance(c, Z_VARIANCE) for c in objects.covariance[keep]]
        ids = context.scene.track_ids(len(frame))
        return messages.detections_3d(
            self.factory,
            centres,
            objects.bearing[keep],
            size,
            covariances,
            frame.scores[keep],
            [self.class_names[frame.class_ids[i]] for i in keep],
            [ids[i] for i in keep],
            context.ground_header,
        )

    def _ego_lane(self, side: str, context: FrameContext) -> Any:
        if context.lanes is None:
            return None
        points = getattr(context.lanes.ego, side)
        return messages.path(self.factory, points, context.ground_header)

    def _markers(self, context: FrameContext) -> Any:
        """Lane polylines, the ego lane's centre, object boxes with track ids and velocities."""
        hdr, markers = context.ground_header, []

        def add(
            namespace: str, kind: int, scale: tuple[float, float, float], **fields: Any
        ) -> None:
            rgba = MARKER_RGBA[namespace]
            ident = sum(m.ns == namespace for m in markers)
            markers.append(
                messages.marker(self.factory, hdr, namespace, ident, kind, rgba, scale, **fields)
            )

        lanes = context.lanes
        for line in lanes.lines if lanes is not None else ():
            add("lane_lines", LINE_STRIP, (0.15, 0.0, 0.0), points=line.points)
        if lanes is not None and lanes.ego.center is not None:
            add("ego_lane", LINE_STRIP, (0.3, 0.0, 0.0), points=lanes.ego.center)
        objects, tracks = context.scene.objects, context.scene.tracks
        if objects is not None:
            ids = context.scene.track_ids(len(context.frame))
            for row in np.flatnonzero(objects.valid):
                length, width, height = objects.size[row]
                x, y = objects.position[row]
                pose = messages.pose_at(self.factory, x, y, height / 2, objects.bearing[row])
                add("objects", CUBE, (float(length), float(width), float(height)), pose=pose)
                label = f"{self.class_names[context.frame.class_ids[row]]} {ids[row]}".strip()
                text_pose = messages.pose_at(self.factory, x, y, height + 0.5, 0.0)
                add("track_ids", TEXT, (0.0, 0.0, 0.8), pose=text_pose, text=label)
        if tracks is not None:
            moving = tracks.ground_valid & np.isfinite(tracks.ground_velocity).all(axis=1)
            for row in np.flatnonzero(moving):
                start = np.append(tracks.ground_xy[row], 0.5)
                end = start + np.append(tracks.ground_velocity[row], 0.0)  # one second ahead
                add("velocities", ARROW, (0.15, 0.3, 0.3), points=np.stack([start, end]))
        return messages.marker_array(self.factory, hdr, markers)

    def _tracked_objects(self, context: FrameContext) -> Any:
        """Confirmed tracks with a ground position at their centres (scene/track_shapes.py),
        velocities over the ground where the vehicle's motion is known (the tracker's, which
        are relative to the vehicle, otherwise), the camera while it sees them."""
        tracks, shapes, path = context.scene.tracks, context.scene.shapes, context.path
        if tracks is None or shapes is None or path is None:
            return None
        rows = shapes.rows
        covariance = tracks.ground_cov[rows]
        camera = context.header.frame_id
        velocity = tracks.ground_velocity[rows]
        if context.ego is not None:
            velocity = context.ego.over_ground(shapes.centre, velocity)  # of the pose given
        return messages.tracked_objects(
            self.factory,
            [tracks.track_ids[row] for row in rows],
            [self.class_names[tracks.class_ids[row]] for row in rows],
            tracks.scores[rows],
            shapes.centre,
            [messages.pose_covariance(c[:2, :2], Z_VARIANCE) for c in covariance],
            velocity,
            [messages.twist_covariance(c[2:, 2:]) for c in covariance],
            shapes.size,
            path.lane_index[rows],
            path.in_path[rows],
            shapes.existence,
            [[camera] if tracks.detection_index[row] >= 0 else [] for row in rows],
            context.ego is None,
            context.ground_header,
        )

    def _lead_vehicle(self, context: FrameContext) -> Any:
        """The nearest vehicle in the path ahead (present=false when none); nothing without
        tracks."""
        if context.path is None:
            return None
        return messages.lead_vehicle(self.factory, context.path.lead, context.ground_header)

    def _lanes(self, context: FrameContext) -> Any:
        """Every lane line with its boundary index (compared at lanes.reference_m, where the
        ego lane is chosen) and confidence (scene/lanes.py line_confidence)."""
        lanes, settings = context.lanes, context.settings
        if lanes is None:
            return None
        return messages.lane_array(
            self.factory,
            [line.points for line in lanes.lines],
            boundary_indices(lanes, settings.lanes.reference_m, settings.path),
            [line_confidence(line, settings.lanes) for line in lanes.lines],
            context.ground_header,
        )

    def label_info(self, stamp: int, frame_id: str, threshold: float) -> Any:
        """The class map of the detections (vision_msgs/LabelInfo, sent once, latched)."""
        hdr = messages.header(self.factory, stamp, frame_id)
        return messages.label_info(self.factory, self.class_names, threshold, hdr)

    def _mask(self, mask: np.ndarray | None, context: FrameContext) -> Any:
        return None if mask is None else messages.mask_image(self.factory, mask, context.header)

    def _grid(self, context: FrameContext) -> Any:
        if context.occupancy is None:
            return None
        grid = context.projector.grid
        return messages.occupancy_grid(self.factory, context.occupancy, grid, context.ground_header)

    def _free_space(self, context: FrameContext) -> Any:
        """Range to the first non-drivable cell per bearing (scene/free_space.py)."""
        if context.occupancy is None:
            return None
        scan = self._scanners.get(context.projector).scan(context.occupancy)
        return messages.laser_scan(self.factory, scan, context.ground_header)

    def _lane_points(self, context: FrameContext) -> Any:
        lane, projector = context.frame.lane, context.projector
        if lane is None or projector is None:
            return None
        points = projector.ground_points(lane)
        return messages.point_cloud(self.factory, points, context.ground_header)

    def _debug_image(self, context: FrameContext) -> Any:
        if context.image is None:
            return None
        bgr = context.image
        if context.color == "rgb":
            bgr = cv2.cvtColor(bgr, cv2.COLOR_RGB2BGR)
        overlay = draw_overlay(bgr, context.frame, self.class_names)
        return messages.image(self.factory, overlay, "bgr8", context.header)


Builder = Callable[[FrameOutputs, FrameContext], Any]

# Output name -> (message type, builder); the node publishes each on `~/<name>`, in this order.
OUTPUTS: dict[str, tuple[str, Builder]] = {
    "detections": (messages.DETECTIONS, FrameOutputs._detections),
    "objects": (messages.DETECTIONS_3D, FrameOutputs._objects),
    "drivable_mask": (messages.IMAGE, lambda outputs, c: outputs._mask(c.frame.drivable, c)),
    "lane_mask": (messages.IMAGE, lambda outputs, c: outputs._mask(c.frame.lane, c)),
    "grid": (messages.OCCUPANCY_GRID, FrameOutputs._grid),
    "free_space": (messages.LASER_SCAN, FrameOutputs._free_space),
    "lane_points": (messages.POINT_CLOUD, FrameOutputs._lane_points),
    "ego_lane/center": (messages.PATH, lambda outputs, c: outputs._ego_lane("center", c)),
    "ego_lane/left": (messages.PATH, lambda outputs, c: outputs._ego_lane("left", c)),
    "ego_lane/right": (messages.PATH, lambda outputs, c: outputs._ego_lane("right", c)),
    "markers": (messages.MARKERS, FrameOutputs._markers),
    "tracked_objects": (messages.TRACKED_OBJECTS, FrameOutputs._tracked_objects),
    "lead_vehicle": (messages.LEAD_VEHICLE, FrameOutputs._lead_vehicle),
    "lanes": (messages.LANES, FrameOutputs._lanes),
    "debug_image": (messages.IMAGE, FrameOutputs._debug_image),
}
OUTPUT_TYPES: dict[str, str] = {name: msgtype for name, (msgtype, _) in OUTPUTS.items()}
RECORDED_OUTPUTS = tuple(name for name in OUTPUT_TYPES if name != "debug_image")
