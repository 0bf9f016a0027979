"""Settings of the published outputs, shared by the node's parameters and bag-eval's flags."""

from __future__ import annotations

from dataclasses import dataclass

from ..scene.camera import CameraIntrinsics, CameraModel, CameraModelHistory
from ..scene.contact import ContactSettings
from ..scene.ground import CameraPose, GridSpec, PinholeParameters
from ..scene.lanes import LaneSettings
from ..scene.lead import LeadSettings
from ..scene.objects import ObjectSettings
from ..scene.path import PathSettings
from ..scene.tracking import TrackerSettings
from ..settings import MASK_RESOLUTIONS, check_settings, group, setting


@dataclass(frozen=True)
class CameraInfoSettings:
    """How CameraInfo messages are read and paired with images."""

    rectified: bool = setting(
        True,
        "The image is rectified: project with CameraInfo.p. False: a raw image, projected "
        "with K and its distortion D undistorted.",
        runtime=False,
    )
    info_tolerance: float = setting(
        0.0,
        "Largest stamp difference (s) between an image and the camera_info used for it; "
        "0 = the latest camera_info, whatever its stamp.",
        low=0.0,
        high=10.0,
    )

    def __post_init__(self) -> None:
        check_settings(self)

    def history(self) -> CameraModelHistory:
        """An empty history that pairs images with camera models under these settings."""
        return CameraModelHistory(round(self.info_tolerance * 1e9))


@dataclass(frozen=True)
class GroundSettings:
    """Vehicle frame, camera pose, fallback intrinsics and extent of the ground outputs."""

    grid_frame: str = setting(
        "base_link", "Vehicle frame of the ground outputs (~/grid, ~/free_space, ...)."
    )
    grid: GridSpec = group(GridSpec, "grid.")
    camera: CameraPose = group(CameraPose, "camera.")
    intrinsics: PinholeParameters = group(PinholeParameters, "camera.")
    camera_info: CameraInfoSettings = group(CameraInfoSettings, "camera.")

    def __post_init__(self) -> None:
        check_settings(self)

    def camera_for(
        self, camera_info: CameraModel | None, width: int, height: int
    ) -> CameraModel | CameraIntrinsics | None:
        """The camera_info's model, else the parameters' intrinsics for this image, else None."""
        return camera_info or self.intrinsics.for_image(width, height)


@dataclass(frozen=True)
class OutputSettings:
    """Which outputs are made and how; `ground` places the grid and lane points; `objects`,
    `tracking`, `contact`, `lanes`, `path` and `lead` tune the planner outputs (objects on the
    ground, their tracks, lane lines, lane index and in-path, the lead vehicle)."""

    mask_resolution: str = setting(
        "source",
        "Masks at source or network resolution.",
        choices=MASK_RESOLUTIONS,
        runtime=False,
    )
    publish_grid: bool = setting(True, "Publish ~/grid (needs intrinsics).")
    publish_free_space: bool = setting(
        True, "Publish ~/free_space, the grid's free space as a LaserScan (needs intrinsics)."
    )
    publish_lane_points: bool = setting(True, "Publish ~/lane_points (needs intrinsics).")
    track_objects: bool = setting(
        True,
        "Track detections over frames: Detection2D/3D.id then names the same object in every "
        "frame (empty until a track is confirmed).",
        runtime=False,
    )
    contact_from_drivable: bool = setting(
        True,
        "Place each object where the drivable area resumes below it, where the mask shows "
        "that, rather than at its box's bottom edge (off for a segmentation whose drivable "
        "area runs under vehicles).",
    )
    ground: GroundSettings = group(GroundSettings)
    objects: ObjectSettings = group(ObjectSettings, "objects.")
    tracking: TrackerSettings = group(TrackerSettings, "tracking.")
    contact: ContactSettings = group(ContactSettings, "contact.")
    lanes: LaneSettings = group(LaneSettings, "lanes.")
    path: PathSettings = group(PathSettings, "path.")
    lead: LeadSettings = group(LeadSettings, "lead.")

    def __post_init__(self) -> None:
        check_settings(self)
