"""Settings of the published outputs, shared by the node's parameters and bag-eval's flags."""

from __future__ import annotations

from dataclasses import dataclass

from ..ground import CameraIntrinsics, CameraPose, GridSpec, PinholeParameters
from ..settings import MASK_RESOLUTIONS, check_settings, group, setting


@dataclass(frozen=True)
class GroundSettings:
    """Vehicle frame, camera pose, fallback intrinsics and extent of the ground outputs."""

    grid_frame: str = setting("base_link", "Vehicle frame of ~/grid and ~/lane_points.")
    grid: GridSpec = group(GridSpec, "grid.")
    camera: CameraPose = group(CameraPose, "camera.")
    intrinsics: PinholeParameters = group(PinholeParameters, "camera.")

    def __post_init__(self) -> None:
        check_settings(self)

    def intrinsics_for(
        self, camera_info: CameraIntrinsics | None, width: int, height: int
    ) -> CameraIntrinsics | None:
        """The camera_info's intrinsics, else the parameters' for this image, else None."""
        return camera_info or self.intrinsics.for_image(width, height)


@dataclass(frozen=True)
class OutputSettings:
    """Which outputs are made and how; `ground` places the grid and lane points."""

    mask_resolution: str = setting(
        "source",
        "Masks at source or network resolution.",
        choices=MASK_RESOLUTIONS,
        runtime=False,
    )
    publish_grid: bool = setting(True, "Publish ~/grid (needs intrinsics).")
    publish_lane_points: bool = setting(True, "Publish ~/lane_points (needs intrinsics).")
    ground: GroundSettings = group(GroundSettings)

    def __post_init__(self) -> None:
        check_settings(self)
