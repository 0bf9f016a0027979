"""One frame result -> the node's output messages, the same for the live node and the bag tools.

Each output is one builder in `BUILDERS`; a new output is one new function there. The caller
says which outputs it wants (the node: the topics with subscribers; bag-eval: all) and gets
messages of its own transport back, keyed by output name (the topic below the node).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..camera import CameraIntrinsics, CameraModel
from ..errors import ConfigError
from ..ground import CachedProjector, GroundProjector
from ..results import FrameResult
from ..visualize import draw_overlay
from . import messages
from .factory import MessageFactory
from .settings import OutputSettings

# Output name -> message type; the node publishes each on `~/<name>`.
OUTPUT_TYPES: dict[str, str] = {
    "detections": messages.DETECTIONS,
    "drivable_mask": messages.IMAGE,
    "lane_mask": messages.IMAGE,
    "grid": messages.OCCUPANCY_GRID,
    "lane_points": messages.POINT_CLOUD,
    "debug_image": messages.IMAGE,
}
RECORDED_OUTPUTS = tuple(name for name in OUTPUT_TYPES if name != "debug_image")
GROUND_OUTPUTS = ("grid", "lane_points")


@dataclass
class FrameContext:
    """What one frame's builders share: the result, headers, image and ground projection."""

    frame: FrameResult
    header: Any
    ground_header: Any
    image: np.ndarray | None
    color: str
    projector: GroundProjector | None


class FrameOutputs:
    """Builds the node's outputs of a frame through `factory` (rclpy or rosbags messages).

    Detection class names come from `class_names` (the node's `class_names` parameter or the
    model's). The ground outputs need intrinsics: the frame's camera_info, else the settings'
    camera.fx/fy/cx/cy; the pixel-to-cell mapping is cached and rebuilt only when the
    calibration, pose, grid or mask size changes (`projector_builds`, `last_build_ms`).
    """

    def __init__(
        self, factory: MessageFactory, settings: OutputSettings, class_names: list[str]
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.class_names = list(class_names)
        self._projectors = CachedProjector()
        self.last_build_ms = 0.0

    @property
    def projector_builds(self) -> int:
        """Pixel-to-cell mappings computed so far (once per calibration)."""
        return self._projectors.builds

    def check_classes(self, model_names: list[str]) -> None:
        """ConfigError unless there is one name per model class."""
        if len(self.class_names) != len(model_names):
            raise ConfigError(
                f"{len(self.class_names)} class names given but the model has "
                f"{len(model_names)} classes"
            )

    def enabled(self, name: str) -> bool:
        """Whether the settings let this output be made at all."""
        if name == "grid":
            return self.settings.publish_grid
        if name == "lane_points":
            return self.settings.publish_lane_points
        return name in OUTPUT_TYPES

    def camera(
        self, frame: FrameResult, camera_info: CameraModel | None
    ) -> CameraModel | CameraIntrinsics | None:
        """The camera the ground outputs of this frame use, or None (they are skipped)."""
        height, width = frame.image_size
        return self.settings.ground.camera_for(camera_info, width, height)

    def build(
        self,
        frame: FrameResult,
        stamp: int,
        frame_id: str,
        wanted: Container[str],
        camera_info: CameraModel | None = None,
        image: np.ndarray | None = None,
        color: str = "bgr",
    ) -> dict[str, Any]:
        """Messages of the wanted, enabled outputs this frame can make, by output name.

        Every message carries the input's stamp and frame_id; the ground outputs carry the
        stamp in the vehicle frame. `image` (the source pixels) is needed for debug_image.
        """
        names = [name for name in OUTPUT_TYPES if name in wanted and self.enabled(name)]
        projector = None
        if any(name in GROUND_OUTPUTS for name in names):
            projector = self._projector(frame, camera_info)
        context = FrameContext(
            frame,
            messages.header(self.factory, stamp, frame_id),
            messages.header(self.factory, stamp, self.settings.ground.grid_frame),
            image,
            color,
            projector,
        )
        built = {}
        for name in names:
            message = BUILDERS[name](self, context)
            if message is not None:
                built[name] = message
        return built

    def _projector(
        self, frame: FrameResult, camera_info: CameraModel | None
    ) -> GroundProjector | None:
        """The cached projector for this frame's masks, or None without a camera or masks."""
        camera = self.camera(frame, camera_info)
        reference = frame.drivable if frame.drivable is not None else frame.lane
        if camera is None or reference is None:
            return None
        ground = self.settings.ground
        start = time.perf_counter()
        projector, rebuilt = self._projectors.get(
            camera, reference.shape, ground.camera, ground.grid
        )
        if rebuilt:
            self.last_build_ms = (time.perf_counter() - start) * 1000
        return projector

    # --- one builder per output ----------------------------------------------------------

    def _detections(self, context: FrameContext) -> Any:
        frame = context.frame
        names = [self.class_names[i] for i in frame.class_ids]
        ids = [str(rank) for rank in range(len(frame))]
        return messages.detections_2d(
            self.factory, frame.boxes, frame.scores, names, ids, context.header
        )

    def _mask(self, mask: np.ndarray | None, context: FrameContext) -> Any:
        return None if mask is None else messages.mask_image(self.factory, mask, context.header)

    def _grid(self, context: FrameContext) -> Any:
        drivable, projector = context.frame.drivable, context.projector
        if drivable is None or projector is None:
            return None
        grid = projector.occupancy(drivable)
        return messages.occupancy_grid(self.factory, grid, projector.grid, context.ground_header)

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


BUILDERS: dict[str, Callable[[FrameOutputs, FrameContext], Any]] = {
    "detections": FrameOutputs._detections,
    "drivable_mask": lambda outputs, c: outputs._mask(c.frame.drivable, c),
    "lane_mask": lambda outputs, c: outputs._mask(c.frame.lane, c),
    "grid": FrameOutputs._grid,
    "lane_points": FrameOutputs._lane_points,
    "debug_image": FrameOutputs._debug_image,
}
