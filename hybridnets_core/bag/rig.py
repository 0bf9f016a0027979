"""Camera rigs of synthetic drives: the built-in table of camera poses, rig files, the cameras'
topics and frames, and their static transforms (base_link -> <camera>_optical, REP 103).

Every camera is level, mounted at a position in base_link (the drive's vehicle frame: x forward,
y left, origin on the ground below the forward camera) and turned by a yaw (positive looks
left). The forward camera `front` sits at the origin 1.5 m high, as the single-camera drive's
camera does, so its images are the single-camera bag's. Intrinsics are the drive's camera
unless a rig file gives a camera its own focal length or horizon (fractions of the image size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..outputs import messages
from ..outputs.factory import MessageFactory
from ..scene.ground import CameraIntrinsics, CameraPose, OpticalPose
from ..synth.camera import CameraParams, Mount
from .drive import CAMERA_HEIGHT_M
from .truth_topics import TF_MESSAGE

TF_STATIC = "/tf_static"
OPTICAL_SUFFIX = "_optical"
DEG = math.pi / 180.0
# The built-in rig: the forward camera, two corner cameras turned 50 deg out whose views
# overlap the forward one's, and a rear camera over the back bumper.
RIG_TABLE = {
    "front": Mount(0.0, 0.0, CAMERA_HEIGHT_M, 0.0),
    "front_left": Mount(-0.3, 0.8, CAMERA_HEIGHT_M, 50 * DEG),
    "front_right": Mount(-0.3, -0.8, CAMERA_HEIGHT_M, -50 * DEG),
    "rear": Mount(-3.5, 0.0, CAMERA_HEIGHT_M, 180 * DEG),
}
FORWARD = RIG_TABLE["front"]
FILE_KEYS = {"x", "y", "z", "yaw_deg", "focal_frac", "horizon_frac"}


@dataclass(frozen=True)
class RigCamera:
    """One camera of a rig: its name (topic namespace), mount and optional own intrinsics."""

    name: str
    mount: Mount
    focal_frac: float | None = None
    horizon_frac: float | None = None

    @property
    def frame_id(self) -> str:
        """The camera's optical frame (REP 103: z forward, x right, y down)."""
        return f"{self.name}{OPTICAL_SUFFIX}"

    @property
    def image_topic(self) -> str:
        return f"/{self.name}/image_raw"

    @property
    def info_topic(self) -> str:
        return f"/{self.name}/camera_info"

    @property
    def forward(self) -> bool:
        """Whether this is the drive's own forward camera (rendered as the single camera)."""
        return self.mount == FORWARD and self.focal_frac is None and self.horizon_frac is None

    def optical_pose(self) -> OpticalPose:
        """The pose of the optical frame in base_link, as TF gives it."""
        m = self.mount
        return CameraPose(x=m.x, y=m.y, z=m.z, yaw=_wrap(m.yaw)).optical_pose()

    def camera_params(self, drive: CameraParams) -> CameraParams | None:
        """The renderer's camera with this camera's own intrinsics; None: the drive's."""
        if self.focal_frac is None and self.horizon_frac is None:
            return None
        return replace(
            drive,
            focal_frac=drive.focal_frac if self.focal_frac is None else self.focal_frac,
            horizon_frac=drive.horizon_frac if self.horizon_frac is None else self.horizon_frac,
        )

    def intrinsics(self, drive: CameraIntrinsics) -> CameraIntrinsics:
        """The camera's pinhole calibration: the drive's, with this camera's own overrides."""
        focal = drive.fx if self.focal_frac is None else self.focal_frac * drive.width
        cy = drive.cy if self.horizon_frac is None else self.horizon_frac * drive.height
        return CameraIntrinsics(focal, focal, drive.cx, cy, drive.width, drive.height)


def _wrap(angle: float) -> float:
    """An angle in [-pi, pi]."""
    return math.atan2(math.sin(angle), math.cos(angle))


def parse_rig(spec: str) -> list[RigCamera]:
    """`--rig`: comma-separated names of the built-in table, or a YAML file of cameras
    (name: {x, y, z, yaw_deg[, focal_frac, horizon_frac]})."""
    path = Path(spec)
    if spec.endswith((".yaml", ".yml")) or path.is_file():
        return _rig_file(path)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in RIG_TABLE]
    if unknown or not names:
        raise ConfigError(
            f"--rig {spec!r}: unknown camera {unknown or spec!r}; use names of "
            f"{', '.join(RIG_TABLE)} separated by commas, or a rig YAML file"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"--rig {spec!r} names a camera twice")
    return [RigCamera(name, RIG_TABLE[name]) for name in names]


def _rig_file(path: Path) -> list[RigCamera]:
    """Cameras of a rig YAML file, in file order."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"--rig {path}: cannot read the rig file: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"--rig {path}: expected a mapping of camera name -> pose")
    return [_file_camera(path, str(name), entry) for name, entry in data.items()]


def _file_camera(path: Path, name: str, entry: Any) -> RigCamera:
    """One camera entry of a rig file."""
    if not isinstance(entry, dict) or not {"x", "y", "yaw_deg"} <= set(entry):
        raise ConfigError(f"--rig {path}: camera {name!r} needs x, y, yaw_deg (and optional z)")
    extra = set(entry) - FILE_KEYS
    if extra:
        raise ConfigError(f"--rig {path}: camera {name!r} has unknown keys {sorted(extra)}")
    if not name.replace("_", "").isalnum():
        raise ConfigError(f"--rig {path}: camera name {name!r} must be letters, digits and _")
    try:
        values = {key: float(value) for key, value in entry.items()}
    except (TypeError, ValueError):
        raise ConfigError(f"--rig {path}: camera {name!r} values must be numbers") from None
    if values.get("z", CAMERA_HEIGHT_M) <= 0:
        raise ConfigError(f"--rig {path}: camera {name!r} must be above the ground (z > 0)")
    mount = Mount(
        values["x"], values["y"], values.get("z", CAMERA_HEIGHT_M), values["yaw_deg"] * DEG
    )
    return RigCamera(name, mount, values.get("focal_frac"), values.get("horizon_frac"))


def static_transforms(
    factory: MessageFactory, cameras: list[RigCamera], stamp: int, parent: str
) -> Any:
    """tf2_msgs/TFMessage with every camera's optical frame in `parent` (for /tf_static)."""
    transforms = []
    for camera in cameras:
        translation, quaternion = camera.optical_pose().to_transform()
        transforms.append(
            factory.new(
                "geometry_msgs/msg/TransformStamped",
                header=messages.header(factory, stamp, parent),
                child_frame_id=camera.frame_id,
                transform=factory.new(
                    "geometry_msgs/msg/Transform",
                    translation=factory.new(
                        "geometry_msgs/msg/Vector3", **dict(zip("xyz", translation))
                    ),
                    rotation=factory.new(
                        "geometry_msgs/msg/Quaternion", **dict(zip("xyzw", quaternion))
                    ),
                ),
            )
        )
    return factory.new(TF_MESSAGE, transforms=transforms)


def optical_poses(msg: Any, parent: str) -> dict[str, OpticalPose]:
    """Child frame -> OpticalPose of the transforms from `parent` in a TFMessage."""
    poses = {}
    for transform in msg.transforms:
        if transform.header.frame_id != parent:
            continue
        t, q = transform.transform.translation, transform.transform.rotation
        poses[transform.child_frame_id] = OpticalPose.from_transform(
            (t.x, t.y, t.z), (q.x, q.y, q.z, q.w)
        )
    return poses
