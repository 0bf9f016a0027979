"""Flat-ground inverse perspective mapping: masks in camera pixels to a bird's-eye grid.

Conventions (REP 103/105): the vehicle frame has x forward, y left, z up, and the ground is
the plane z = 0. The camera pose (x, y, z, roll, pitch, yaw) places the camera *body*
(x forward, y left, z up) in the vehicle frame, so zero angles look straight ahead and a
positive pitch looks down. Pixels use the optical convention (z forward, x right, y down),
with pixel (u, v) centred on the integer coordinates as in CameraInfo/OpenCV.

The grid is an OccupancyGrid-style array: row r along y, column c along x, cell (0, 0) has
its corner at (x_min, y_min). Each cell is sampled once at its centre by projecting it into
the image, so a frame costs one gather; the mapping is computed once per calibration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError, InputError
from .settings import check_settings, setting

DRIVABLE = 0
NOT_DRIVABLE = 100
UNSEEN = -1

# Optical axes (x right, y down, z forward) expressed in the camera body frame.
_OPTICAL_TO_BODY = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of an undistorted image of `width` x `height` pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        values = (self.fx, self.fy, self.cx, self.cy)
        if not all(math.isfinite(v) for v in values) or self.fx <= 0 or self.fy <= 0:
            raise ConfigError(f"camera intrinsics need finite fx, fy > 0, got {values}")
        if self.width <= 0 or self.height <= 0:
            raise ConfigError(f"camera image size must be positive, got {self.width}x{self.height}")

    @classmethod
    def from_k(
        cls, k: tuple[float, ...] | list[float], width: int, height: int
    ) -> CameraIntrinsics:
        """Build from a row-major 3x3 camera matrix (CameraInfo.k)."""
        if len(k) != 9:
            raise ConfigError(f"camera matrix K needs 9 values, got {len(k)}")
        return cls(float(k[0]), float(k[4]), float(k[2]), float(k[5]), int(width), int(height))

    def scaled_to(self, width: int, height: int) -> CameraIntrinsics:
        """The same camera seen through an image resized to `width` x `height`."""
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(
            self.fx * sx,
            self.fy * sy,
            (self.cx + 0.5) * sx - 0.5,
            (self.cy + 0.5) * sy - 0.5,
            int(width),
            int(height),
        )


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

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y of every cell centre as [height, width] arrays."""
        xs = self.x_min + (np.arange(self.width) + 0.5) * self.resolution
        ys = self.y_min + (np.arange(self.height) + 0.5) * self.resolution
        return np.meshgrid(xs, ys)


class GroundProjector:
    """Precomputed mapping between one camera calibration, image size and ground grid."""

    def __init__(self, intrinsics: CameraIntrinsics, pose: CameraPose, grid: GridSpec) -> None:
        self.intrinsics = intrinsics
        self.pose = pose
        self.grid = grid
        self._optical_to_vehicle = pose.rotation() @ _OPTICAL_TO_BODY
        self._cells, self._pixels = self._map_cells_to_pixels()
        self._pixel_ground, self._pixel_on_grid = self._map_pixels_to_ground()

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the masks this projector accepts."""
        return self.intrinsics.height, self.intrinsics.width

    @property
    def visible_fraction(self) -> float:
        """Share of grid cells the camera sees (the rest are always UNSEEN)."""
        return self._cells.size / (self.grid.width * self.grid.height)

    def _map_cells_to_pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """Flat indices of the cells whose centre projects into the image, and of that pixel."""
        cam = self.intrinsics
        xs, ys = self.grid.cell_centres()
        rel = np.stack([xs - self.pose.x, ys - self.pose.y, -self.pose.z * np.ones_like(xs)])
        opt = np.einsum("ji,jhw->ihw", self._optical_to_vehicle, rel)  # vehicle -> optical
        depth = opt[2]
        in_front = depth > 1e-6
        safe = np.where(in_front, depth, 1.0)
        u = np.floor(cam.fx * opt[0] / safe + cam.cx + 0.5)
        v = np.floor(cam.fy * opt[1] / safe + cam.cy + 0.5)
        seen = in_front & (u >= 0) & (u < cam.width) & (v >= 0) & (v < cam.height)
        cells = np.flatnonzero(seen)
        pixels = (v.ravel()[cells] * cam.width + u.ravel()[cells]).astype(np.int64)
        return cells, pixels

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

    def _map_pixels_to_ground(self) -> tuple[np.ndarray, np.ndarray]:
        """Ground (x, y) where each pixel's ray meets z = 0, and whether that lies on the grid."""
        cam = self.intrinsics
        v, u = np.divmod(np.arange(cam.width * cam.height), cam.width)
        rays_opt = np.stack([(u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy, np.ones(u.size)])
        rays = self._optical_to_vehicle @ rays_opt
        down = rays[2] < -1e-9
        t = np.where(down, -self.pose.z / np.where(down, rays[2], -1.0), 0.0)
        xy = np.stack([self.pose.x + t * rays[0], self.pose.y + t * rays[1]], axis=1)
        g = self.grid
        x, y = xy[:, 0], xy[:, 1]
        on_grid = down & (x >= g.x_min) & (x < g.x_max) & (y >= g.y_min) & (y < g.y_max)
        return xy.astype(np.float32), on_grid


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

    Building the mapping costs tens of milliseconds; applying it costs well under one, so
    the node and bag replay rebuild only for a new camera_info, pose, grid or mask size.
    """

    def __init__(self) -> None:
        self.projector: GroundProjector | None = None
        self.builds = 0

    def get(
        self,
        intrinsics: CameraIntrinsics,
        mask_shape: tuple[int, int],
        pose: CameraPose,
        grid: GridSpec,
    ) -> tuple[GroundProjector, bool]:
        """Projector for masks of `mask_shape` (H, W), and whether it was just rebuilt."""
        scaled = intrinsics.scaled_to(mask_shape[1], mask_shape[0])
        current = self.projector
        if current is not None and (current.intrinsics, current.pose, current.grid) == (
            scaled,
            pose,
            grid,
        ):
            return current, False
        self.projector = GroundProjector(scaled, pose, grid)
        self.builds += 1
        return self.projector, True
