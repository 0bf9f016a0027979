"""A camera's calibration for a bag's camera_info: read from the YAML file that ROS's
camera_calibration writes, or guessed as a centred pinhole from a horizontal field of view."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import ConfigError
from ..outputs import messages
from ..outputs.factory import MessageFactory
from ..scene.camera import CameraIntrinsics, CameraModel

# Matrices of a camera_calibration YAML file: key, rows, cols.
MATRICES = {
    "camera_matrix": (3, 3),
    "rectification_matrix": (3, 3),
    "projection_matrix": (3, 4),
}
DEFAULT_HFOV_DEG = 65.0  # the middle of the synthetic drives' dashcams (56 to 78 degrees)
REQUIRED = ("image_width", "image_height", "camera_matrix", "distortion_model")


@dataclass(frozen=True)
class Calibration:
    """What a CameraInfo says about a camera: image size, K, distortion, R and P (row-major)."""

    width: int
    height: int
    distortion_model: str
    d: tuple[float, ...]
    k: tuple[float, ...]
    r: tuple[float, ...]
    p: tuple[float, ...]

    @classmethod
    def pinhole(cls, camera: CameraIntrinsics) -> Calibration:
        """An undistorted pinhole camera, P = [K | 0]."""
        k = (camera.fx, 0.0, camera.cx, 0.0, camera.fy, camera.cy, 0.0, 0.0, 1.0)
        p = (camera.fx, 0.0, camera.cx, 0.0, 0.0, camera.fy, camera.cy, 0.0, 0.0, 0.0, 1.0, 0.0)
        identity = tuple(float(v) for v in np.eye(3).reshape(-1))
        return cls(camera.width, camera.height, "plumb_bob", (0.0,) * 5, k, identity, p)

    def message(self, factory: MessageFactory, header: Any) -> Any:
        """This calibration as a sensor_msgs/CameraInfo with `header`."""
        return messages.calibrated_camera_info(
            factory, header, self.width, self.height, self.distortion_model,
            self.d, self.k, self.r, self.p,
        )  # fmt: skip


def guess_from_fov(width: int, height: int, hfov_deg: float) -> Calibration:
    """A pinhole camera seeing `hfov_deg` across the image, square pixels, centred principal
    point: enough to try the ground outputs, not a calibration."""
    if not 0 < hfov_deg < 180:
        raise ConfigError(f"--hfov must lie between 0 and 180 degrees, got {hfov_deg:g}")
    focal = width / 2 / math.tan(math.radians(hfov_deg) / 2)
    return Calibration.pinhole(
        CameraIntrinsics(focal, focal, (width - 1) / 2, (height - 1) / 2, width, height)
    )


def _matrix(path: Path, doc: dict, key: str, shape: tuple[int, int] | None) -> tuple[float, ...]:
    """The `data` of a {rows, cols, data} entry, checked against its rows x cols (and `shape`)."""
    entry = doc[key]
    if not isinstance(entry, dict) or not isinstance(entry.get("data"), list):
        raise ConfigError(f"{path}: {key} must be a mapping with rows, cols and a data list")
    rows, cols = entry.get("rows"), entry.get("cols")
    data = entry["data"]
    if shape is not None and (rows, cols) != shape:
        raise ConfigError(f"{path}: {key} must be {shape[0]}x{shape[1]}, got {rows}x{cols}")
    if not isinstance(rows, int) or not isinstance(cols, int) or len(data) != rows * cols:
        raise ConfigError(f"{path}: {key} holds {len(data)} values, not rows x cols")
    try:
        values = tuple(float(v) for v in data)
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: {key} data must be numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(f"{path}: {key} data must be finite numbers")
    return values


def read_camera_yaml(path: Path) -> Calibration:
    """The calibration in a camera_calibration / camera_info_manager YAML file; ConfigError
    naming the file and the field when it is missing, malformed or unusable."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read camera_info file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        detail = str(exc).splitlines()[0]
        raise ConfigError(f"camera_info file {path} is not YAML ({detail})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"camera_info file {path} must be a YAML mapping (camera_calibration)")
    missing = [key for key in REQUIRED if key not in doc]
    if missing:
        raise ConfigError(
            f"camera_info file {path} lacks {', '.join(missing)}; write it with ROS "
            "camera_calibration or in its format"
        )
    width, height = doc["image_width"], doc["image_height"]
    if not isinstance(width, int) or not isinstance(height, int):
        raise ConfigError(f"{path}: image_width and image_height must be integers")
    k = _matrix(path, doc, "camera_matrix", MATRICES["camera_matrix"])
    d = (
        _matrix(path, doc, "distortion_coefficients", None)
        if "distortion_coefficients" in doc
        else ()
    )
    r = (
        _matrix(path, doc, "rectification_matrix", MATRICES["rectification_matrix"])
        if "rectification_matrix" in doc
        else tuple(float(v) for v in np.eye(3).reshape(-1))
    )
    p = (
        _matrix(path, doc, "projection_matrix", MATRICES["projection_matrix"])
        if "projection_matrix" in doc
        else (k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, k[6], k[7], k[8], 0.0)
    )
    calibration = Calibration(width, height, str(doc["distortion_model"]), d, k, r, p)
    try:  # the checks the node and bag-eval apply to every camera_info they receive
        CameraModel.from_camera_info(k, p, d, calibration.distortion_model, width, height, False, r)
    except ConfigError as exc:
        raise ConfigError(f"camera_info file {path}: {exc}") from None
    return calibration
