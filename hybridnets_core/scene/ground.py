"""Flat-ground inverse perspective mapping: masks in camera pixels to a bird's-eye grid.

Conventions (REP 103/105): the vehicle frame (grid_frame) has x forward, y left, z up, and
the ground is its plane z = 0. The camera is placed either by a CameraPose (x, y, z, roll,
pitch, yaw) of the camera *body* (x forward, y left, z up), so zero angles look straight
ahead and a positive pitch looks down, or by an OpticalPose: the TF transform of the
camera's *optical* frame (z forward, x right, y down) in grid_frame. Pixels and lens
models are the CameraModel's (camera.py); a bare CameraIntrinsics is an undistorted camera.

The grid is an OccupancyGrid-style array: row r along y, column c along x, cell (0, 0) has
its corner at (x_min, y_min). Each cell is sampled once at its centre by projecting it into
the image, so a frame costs one gather; the mapping is computed once per calibration.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, InputError
from ..settings import check_settings, setting
from .camera import CameraIntrinsics, CameraModel, require_rotation, rotate_rows

__all__ = [
    "DRIVABLE",
    "NOT_DRIVABLE",
    "UNSEEN",
    "CachedProjector",
    "CameraIntrinsics",
    "CameraModel",
    "CameraPose",
    "GridSpec",
    "GroundProjector",
    "OpticalPose",
    "as_camera_model",
    "as_optical_pose",
    "intersect_ground",
]

DRIVABLE = 0
NOT_DRIVABLE = 100
UNSEEN = -1

# Optical axes (x right, y down, z forward) expressed in the camera body frame.
_OPTICAL_TO_BODY = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
# A raw-image cell is sampled only if its pixel's ray points at it within this many pixels
# of angle (1 / focal length each): beyond the lens model's range the forward polynomial
# folds back and would put far-off cells into the image.
_FOLD_TOLERANCE_PX = 3.0


ANGLE_LIMIT = math.pi


@dataclass(frozen=True)
class CameraPose:
    """Camera body pose in the vehicle frame: metres and radians (roll about x, then pitch, yaw)."""

    x: float = setting(0.0, "Camera x in grid_frame (m).", low=-100.0, high=100.0)
    y: float = setting(0.0, "Camera y in grid_frame (m).", low=-100.0, high=100.0)
    z: float = setting(1.5, "Camera height above the ground (m).", low=0.01, high=100.0)
    roll: float = setting(0.0, "Camera roll (rad).", low=-ANGLE_LIMIT, high=ANGLE_LIMIT)
    pitch: float = setting(
        0.0, "Camera pitch, positive looks down (rad).", low=-ANGLE_LIMIT, high=ANGLE_LIMIT
    )
    yaw: float = setting(
        0.0, "Camera yaw, positive looks left (rad).", low=-ANGLE_LIMIT, high=ANGLE_LIMIT
    )

    def __post_init__(self) -> None:
        check_settings(self)
        values = (self.x, self.y, self.z, self.roll, self.pitch, self.yaw)
        if not all(math.isfinite(v) for v in values):
            raise ConfigError(f"camera pose must be finite, got {values}")
        if self.z <= 0:
            raise ConfigError(f"camera height z must be above the ground (> 0), got {self.z}")

    def rotation(self) -> np.ndarray:
        """3x3 rotation from camera body axes to vehicle axes: Rz(yaw) @ Ry(pitch) @ Rx(roll)."""
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
        ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
        rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
        return rz @ ry @ rx

    def position(self) -> np.ndarray:
        """Camera centre in the vehicle frame."""
        return np.array([self.x, self.y, self.z])

    def optical_pose(self) -> OpticalPose:
        """The same placement as the pose of the optical frame (what TF would give)."""
        rotation = self.rotation() @ _OPTICAL_TO_BODY
        return OpticalPose(tuple(rotation.ravel().tolist()), (self.x, self.y, self.z))


@dataclass(frozen=True)
class OpticalPose:
    """Pose of the camera's optical frame in grid_frame: p_grid = rotation @ p_optical + position.

    `rotation` is row-major 3x3. Equal values mean the same calibration, so a cache keyed on
    it rebuilds only when the transform changes.
    """

    rotation: tuple[float, ...]
    position: tuple[float, float, float]

    def __post_init__(self) -> None:
        require_rotation(np.asarray(self.rotation, dtype=float), "camera rotation")
        if len(self.position) != 3 or not all(math.isfinite(v) for v in self.position):
            raise ConfigError(f"camera position must be 3 finite values, got {self.position}")
        if self.position[2] <= 0:
            raise ConfigError(
                f"camera is at z = {self.position[2]} m in grid_frame but must be above the "
                "ground (z = 0 of grid_frame): use a ground-level frame such as base_footprint"
            )

    @classmethod
    def from_transform(
        cls, translation: Sequence[float], quaternion_xyzw: Sequence[float]
    ) -> OpticalPose:
        """The TF transform of the optical frame in grid_frame: lookup_transform(grid, optical)."""
        if len(translation) != 3 or len(quaternion_xyzw) != 4:
            raise ConfigError(
                f"a transform needs 3 translation and 4 quaternion values, got "
                f"{len(translation)} and {len(quaternion_xyzw)}"
            )
        q = np.asarray(quaternion_xyzw, dtype=float)
        norm = float(np.linalg.norm(q))
        if not (math.isfinite(norm) and norm > 1e-9):
            raise ConfigError(f"camera transform quaternion is not usable: {list(quaternion_xyzw)}")
        rotation = _quaternion_to_matrix(q / norm)
        position = tuple(float(v) for v in translation)
        return cls(tuple(rotation.ravel().tolist()), position)  # type: ignore[arg-type]

    def rotation_matrix(self) -> np.ndarray:
        """3x3 rotation from optical axes to grid_frame axes."""
        return np.asarray(self.rotation, dtype=np.float64).reshape(3, 3)

    @property
    def height(self) -> float:
        """Camera height above the ground plane (m)."""
        return self.position[2]

    def to_transform(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(translation xyz, quaternion xyzw with w >= 0) of this pose."""
        quaternion = _matrix_to_quaternion(self.rotation_matrix())
        return tuple(self.position), tuple(quaternion.tolist())

    def to_camera_pose(self) -> CameraPose:
        """The camera body pose: roll, pitch, yaw with pitch in [-pi/2, pi/2]."""
        body = self.rotation_matrix() @ _OPTICAL_TO_BODY.T
        pitch = math.asin(max(-1.0, min(1.0, -body[2, 0])))
        roll = math.atan2(body[2, 1], body[2, 2])
        yaw = math.atan2(body[1, 0], body[0, 0])
        return CameraPose(*self.position, roll=roll, pitch=pitch, yaw=yaw)

    def to_grid(self, vectors: np.ndarray) -> np.ndarray:
        """Direction vectors [N, 3] in optical axes expressed in grid_frame axes."""
        return rotate_rows(self.rotation_matrix(), vectors)


def _quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a unit quaternion (x, y, z, w)."""
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w), w >= 0, of a rotation matrix (Shepperd's method)."""
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(1.0 + trace)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, s / 4]
    elif m[0, 0] >= m[1, 1] and m[0, 0] >= m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [s / 4, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] >= m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, s / 4, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, s / 4, (m[1, 0] - m[0, 1]) / s]
    quaternion = np.asarray(q) / np.linalg.norm(q)
    return -quaternion if quaternion[3] < 0 else quaternion


def as_optical_pose(pose: CameraPose | OpticalPose) -> OpticalPose:
    """Either way of placing the camera, as the pose of its optical frame."""
    return pose if isinstance(pose, OpticalPose) else _optical_pose_of(pose)


@functools.lru_cache(maxsize=16)
def _optical_pose_of(pose: CameraPose) -> OpticalPose:
    """CameraPose.optical_pose, remembered: per-frame callers pass the same pose again."""
    return pose.optical_pose()


def as_camera_model(camera: CameraIntrinsics | CameraModel) -> CameraModel:
    """Bare intrinsics mean an undistorted (rectified) camera."""
    return camera if isinstance(camera, CameraModel) else CameraModel.pinhole(camera)


def intersect_ground(rays: np.ndarray, origin: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Where rays [N, 3] (grid_frame axes) from `origin` meet z = 0: xy [N, 2] and hit mask.

    Only rays pointing down hit (the camera is above the ground); the rest, and NaN rays,
    get NaN.
    """
    down = rays[:, 2] < -1e-9
    t = -origin[2] / np.where(down, rays[:, 2], np.nan)
    xy = np.empty((len(rays), 2))
    xy[:, 0] = origin[0] + t * rays[:, 0]
    xy[:, 1] = origin[1] + t * rays[:, 1]
    return xy, down


@dataclass(frozen=True)
class GridSpec:
    """Extent [x_min, x_max) x [y_min, y_max) of the grid in metres and its cell size."""

    x_min: float = setting(0.0, "Grid rear edge (m, +x forward).", low=-1000.0, high=1000.0)
    x_max: float = setting(40.0, "Grid front edge (m).", low=-1000.0, high=1000.0)
    y_min: float = setting(-10.0, "Grid right edge (m, +y left).", low=-1000.0, high=1000.0)
    y_max: float = setting(10.0, "Grid left edge (m).", low=-1000.0, high=1000.0)
    resolution: float = setting(0.2, "Cell size (m).", low=0.01, high=10.0)

    def __post_init__(self) -> None:
        check_settings(self)
        if not (math.isfinite(self.resolution) and self.resolution > 0):
            raise ConfigError(f"grid resolution must be > 0 m, got {self.resolution}")
        if not (self.x_max > self.x_min and self.y_max > self.y_min):
            raise ConfigError(
                f"grid extent is empty: x [{self.x_min}, {self.x_max}), "
                f"y [{self.y_min}, {self.y_max})"
            )
        if self.width * self.height > 4_000_000:
            raise ConfigError(
                f"grid of {self.width}x{self.height} cells is too large (max 4 million)"
            )

    @property
    def width(self) -> int:
        """Number of columns (cells along x)."""
        return max(1, round((self.x_max - self.x_min) / self.resolution))

    @property
    def height(self) -> int:
        """Number of rows (cells along y)."""
        return max(1, round((self.y_max - self.y_min) / self.resolution))

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether points (x, y) lie within the grid's extent (False for NaN)."""
        return (x >= self.x_min) & (x < self.x_max) & (y >= self.y_min) & (y < self.y_max)

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y of every cell centre as [height, width] arrays."""
        xs = self.x_min + (np.arange(self.width) + 0.5) * self.resolution
        ys = self.y_min + (np.arange(self.height) + 0.5) * self.resolution
        return np.meshgrid(xs, ys)


class GroundProjector:
    """Precomputed mapping between one camera calibration, image size and ground grid."""

    def __init__(
        self,
        intrinsics: CameraIntrinsics | CameraModel,
        pose: CameraPose | OpticalPose,
        grid: GridSpec,
    ) -> None:
        self.camera = as_camera_model(intrinsics)
        self.intrinsics = self.camera.intrinsics
        self.pose = pose
        self.optical_pose = as_optical_pose(pose)
        self.grid = grid
        cam = self.intrinsics
        v, u = np.divmod(np.arange(cam.width * cam.height), cam.width)
        rays = self.optical_pose.to_grid(self.camera.pixel_rays(u, v))
        self._pixel_ground, self._pixel_on_grid = self._map_pixels_to_ground(rays)
        self._cells, self._pixels = self._map_cells_to_pixels(rays)

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the masks this projector accepts."""
        return self.intrinsics.height, self.intrinsics.width

    @property
    def seen_cells(self) -> np.ndarray:
        """Flat indices (row * width + column) of the grid cells the camera sees."""
        return self._cells

    @property
    def visible_fraction(self) -> float:
        """Share of grid cells the camera sees (the rest are always UNSEEN)."""
        return self._cells.size / (self.grid.width * self.grid.height)

    def _map_cells_to_pixels(self, pixel_rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat indices of the cells whose centre projects into the image, and of that pixel."""
        cam = self.intrinsics
        xs, ys = self.grid.cell_centres()
        x, y, z = self.optical_pose.position
        rel = np.stack([xs.ravel() - x, ys.ravel() - y, np.full(xs.size, -z)], axis=1)
        opt = rotate_rows(self.optical_pose.rotation_matrix().T, rel)  # grid_frame -> optical
        pixels, in_front = self.camera.project(opt)  # NaN behind the camera
        u = np.floor(pixels[:, 0] + 0.5)
        v = np.floor(pixels[:, 1] + 0.5)
        seen = in_front & (u >= 0) & (u < cam.width) & (v >= 0) & (v < cam.height)
        cells = np.flatnonzero(seen)
        flat = (v[cells] * cam.width + u[cells]).astype(np.int64)
        if self.camera.distorted:
            directions = rel[cells] / np.linalg.norm(rel[cells], axis=1, keepdims=True)
            cosine = np.einsum("ij,ij->i", directions, pixel_rays[flat])
            limit = math.cos(_FOLD_TOLERANCE_PX / min(cam.fx, cam.fy))
            agrees = cosine >= limit  # False for pixels without a ray (NaN)
            cells, flat = cells[agrees], flat[agrees]
        return cells, flat

    def _check_mask(self, mask: np.ndarray) -> np.ndarray:
        """Return the mask flattened, or raise InputError when it does not fit the camera."""
        if mask.ndim != 2 or mask.shape != self.image_shape:
            raise InputError(
                f"mask of shape {mask.shape} does not match the calibrated image {self.image_shape}"
            )
        return mask.reshape(-1)

    def occupancy(self, drivable: np.ndarray) -> np.ndarray:
        """int8 [rows, cols] grid from a boolean drivable mask: 0 drivable, 100 not, -1 unseen."""
        flat = self._check_mask(drivable)
        grid = np.full(self.grid.width * self.grid.height, UNSEEN, dtype=np.int8)
        grid[self._cells] = np.where(flat[self._pixels], DRIVABLE, NOT_DRIVABLE)
        return grid.reshape(self.grid.height, self.grid.width)

    def ground_points(self, mask: np.ndarray) -> np.ndarray:
        """float32 [N, 3] ground points (z = 0) of the mask pixels that fall inside the grid."""
        keep = self._check_mask(mask) & self._pixel_on_grid
        points = np.zeros((int(np.count_nonzero(keep)), 3), dtype=np.float32)
        points[:, :2] = self._pixel_ground[keep]
        return points

    def _map_pixels_to_ground(self, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ground (x, y) where each pixel's ray meets z = 0, and whether that lies on the grid."""
        xy, down = intersect_ground(rays, self.optical_pose.position)
        return xy.astype(np.float32), down & self.grid.contains(xy[:, 0], xy[:, 1])


@dataclass(frozen=True)
class PinholeParameters:
    """Intrinsics given as settings, for cameras without a usable CameraInfo; fx = fy = 0: none."""

    fx: float = setting(0.0, "Focal length x (px); 0 = use camera_info.", low=0.0, high=1e6)
    fy: float = setting(0.0, "Focal length y (px); 0 = use camera_info.", low=0.0, high=1e6)
    cx: float = setting(0.0, "Principal point x (px).", low=-1e6, high=1e6)
    cy: float = setting(0.0, "Principal point y (px).", low=-1e6, high=1e6)

    def __post_init__(self) -> None:
        check_settings(self)

    def for_image(self, width: int, height: int) -> CameraIntrinsics | None:
        """These intrinsics for an image of this size, or None when fx or fy is unset."""
        if self.fx <= 0 or self.fy <= 0:
            return None
        return CameraIntrinsics(self.fx, self.fy, self.cx, self.cy, width, height)


class CachedProjector:
    """Keeps one GroundProjector and rebuilds it only when the calibration changes.

    Building the mapping costs tens of milliseconds (about a second for a raw image with
    lens distortion); applying it costs well under one, so the node and bag replay rebuild
    only for a new camera model, pose (or TF transform), grid or mask size.
    """

    def __init__(self) -> None:
        self.projector: GroundProjector | None = None
        self.builds = 0

    def get(
        self,
        intrinsics: CameraIntrinsics | CameraModel,
        mask_shape: tuple[int, int],
        pose: CameraPose | OpticalPose,
        grid: GridSpec,
    ) -> tuple[GroundProjector, bool]:
        """Projector for masks of `mask_shape` (H, W), and whether it was just rebuilt."""
        scaled = as_camera_model(intrinsics).scaled_to(mask_shape[1], mask_shape[0])
        optical = as_optical_pose(pose)
        current = self.projector
        if current is not None and (current.camera, current.optical_pose, current.grid) == (
            scaled,
            optical,
            grid,
        ):
            return current, False
        self.projector = GroundProjector(scaled, pose, grid)
        self.builds += 1
        return self.projector, True
