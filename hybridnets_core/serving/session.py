"""One camera from its messages to its outputs, the same for the live node and bag replay.

A `CameraSession` decodes the camera's images (raw or compressed), pairs each with its own
camera_info, builds the outputs through one `FrameOutputs` (whose tracker follows this camera
only) and keeps the class map that `~/label_info` announces. Every frame gives back one
`SessionFrame`; nothing about a frame is left behind on the session to be read afterwards.
The network runs outside (the caller batches several cameras into one forward pass).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..inference.results import FrameResult
from ..outputs import messages
from ..outputs.codec import decode_image
from ..outputs.factory import MessageFactory
from ..outputs.frame import FrameContext, FrameOutputs
from ..outputs.scene import SceneFrame
from ..outputs.settings import OutputSettings
from ..scene.camera import CameraIntrinsics, CameraModel
from ..scene.ego_motion import EgoTwist
from ..scene.ground import GridSpec, OpticalPose
from ..scene.lanes import LaneEstimate


@dataclass(frozen=True)
class CameraImage:
    """A decoded camera message: its pixels (HxWx3 uint8), colour order, header, stamp (ns)
    and the ms decoding took."""

    pixels: np.ndarray
    color: str
    header: Any
    stamp: int
    decode_ms: float


@dataclass(frozen=True)
class SessionFrame:
    """Everything one frame produced: the messages by output name, the detections' ground
    objects and tracks (`scene`), the lanes (when an output needed them), the camera model
    the ground outputs used (None: no intrinsics), stage timings (ms), the ms spent
    rebuilding the pixel-to-cell mapping (None: the cached one was used, or none needed) and,
    when asked for, the ground grid (int8 occupancy in grid_frame) with its grid spec and the
    camera's foot point (x, y) in grid_frame."""

    result: FrameResult
    stamp: int
    messages: dict[str, Any]
    scene: SceneFrame
    lanes: LaneEstimate | None
    camera: CameraModel | CameraIntrinsics | None
    timings: dict[str, float]
    ground_build_ms: float | None
    occupancy: np.ndarray | None = None
    grid: GridSpec | None = None
    ground_origin: tuple[float, float] | None = None

    @property
    def ground_rebuilt(self) -> bool:
        """Whether this frame computed a new pixel-to-cell mapping."""
        return self.ground_build_ms is not None


class CameraSession:
    """One camera's decoding, camera_info pairing, outputs (with its tracker) and class map.

    `settings` are the camera's output settings at start: what cannot change later (tracking
    on or off, rectified camera_info) is fixed by them, and they are the default of each
    frame's settings. Camera_info may arrive on another thread than the frames.
    """

    def __init__(
        self, factory: MessageFactory, settings: OutputSettings, class_names: list[str]
    ) -> None:
        self.settings = settings
        self.outputs = FrameOutputs(factory, settings, class_names)
        self._camera_infos = settings.ground.camera_info.history()
        self._lock = threading.Lock()  # the camera_info history and the label latch
        self._announced: tuple[tuple[str, ...], float] | None = None

    @property
    def class_names(self) -> list[str]:
        """The detections' class names, by class id."""
        return self.outputs.class_names

    def decode(self, msg: Any) -> CameraImage:
        """Decode an Image or CompressedImage message; InputError when malformed."""
        start = time.perf_counter()
        pixels, color = decode_image(msg)
        decode_ms = (time.perf_counter() - start) * 1000
        return CameraImage(pixels, color, msg.header, messages.stamp_ns(msg.header), decode_ms)

    def add_camera_info(self, msg: Any) -> None:
        """Keep a CameraInfo's camera model by its stamp, for the images it belongs to;
        ConfigError (and nothing kept) when it is unusable, e.g. an all-zero K."""
        rectified = self.settings.ground.camera_info.rectified
        model = messages.camera_model_from_camera_info(msg, rectified)
        with self._lock:
            self._camera_infos.add(messages.stamp_ns(msg.header), model)

    def camera_info(self, stamp: int, settings: OutputSettings | None = None) -> CameraModel | None:
        """The camera model for an image stamped `stamp`, paired under the tolerance of
        `settings` (default: the session's), or None when none is close enough."""
        tolerance = (settings or self.settings).ground.camera_info.info_tolerance
        with self._lock:
            self._camera_infos.tolerance_ns = round(tolerance * 1e9)
            return self._camera_infos.for_image(stamp)

    def process(
        self,
        result: FrameResult,
        image: CameraImage,
        wanted: Container[str],
        settings: OutputSettings | None = None,
        pose: OpticalPose | None = None,
        ground_grid: bool = False,
        ego: EgoTwist | None = None,
        estimate_lanes: bool = False,
    ) -> SessionFrame:
        """The wanted outputs of one inferred frame, built under `settings` (this frame's;
        default: the session's) with its paired camera_info; `pose` (from TF) replaces the
        settings' camera pose. `ground_grid`: also give back the frame's ground grid (None
        without intrinsics or a drivable mask), as the local map needs. `ego`: the vehicle's
        motion at the stamp (velocities over the ground in ~/tracked_objects). `estimate_lanes`:
        the frame's lanes even when no wanted output needs them."""
        settings = settings or self.settings
        start = time.perf_counter()
        built = self.outputs.build(
            result,
            image.stamp,
            image.header.frame_id,
            wanted,
            self.camera_info(image.stamp, settings),
            image.pixels,
            image.color,
            pose,
            settings,
            ground_grid,
            ego,
            estimate_lanes,
        )
        context = built.context
        occupancy = context.occupancy if ground_grid else None
        return SessionFrame(
            result=result,
            stamp=image.stamp,
            messages=built.messages,
            scene=context.scene,
            lanes=context.lanes,
            camera=context.camera,
            timings={**result.timings, "output": (time.perf_counter() - start) * 1000},
            ground_build_ms=built.ground_build_ms,
            occupancy=occupancy,
            grid=context.projector.grid if occupancy is not None else None,
            ground_origin=self._foot(context) if occupancy is not None else None,
        )

    @staticmethod
    def _foot(context: FrameContext) -> tuple[float, float]:
        """The camera's position on the ground, (x, y) in grid_frame."""
        x, y = context.projector.optical_pose.position[:2]
        return float(x), float(y)

    def label_info(self, stamp: int, threshold: float) -> Any:
        """The class map and score threshold (vision_msgs/LabelInfo, latched by the node);
        remembered as announced."""
        with self._lock:
            self._announced = (tuple(self.class_names), float(threshold))
        return self.outputs.label_info(stamp, "", threshold)

    def label_info_if_changed(self, stamp: int, threshold: float) -> Any | None:
        """A new LabelInfo when what it carries differs from the last one announced (or
        none was), else None."""
        with self._lock:
            if self._announced == (tuple(self.class_names), float(threshold)):
                return None
        return self.label_info(stamp, threshold)
