"""Dashcam projection: road-aligned ground coordinates in metres to image pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Vertices further than this many image widths outside the frame are clamped so that
# cv2's fixed-point polygon code never overflows; such vertices are never visible.
_MAX_OFFSCREEN = 8.0


@dataclass(frozen=True)
class CameraParams:
    """Pinhole camera looking down the road; sizes are fractions so a scene renders at any size."""

    height_m: float
    focal_frac: float  # focal length in pixels / image width
    horizon_frac: float  # horizon row / image height
    hood_frac: float  # fraction of the image height hidden by the ego hood, 0 = no hood


@dataclass(frozen=True)
class Mount:
    """Where a camera of a rig sits on the vehicle: position (m) in the drive's vehicle frame
    (REP 103: x forward, y left, z up, origin on the ground below the forward camera) and yaw
    (rad, positive looks left); level, no roll or pitch."""

    x: float
    y: float
    z: float
    yaw: float


# Polygons are clipped in front of this camera-frame depth (m) and this many image sizes
# beyond the image borders, so that no vertex needs clamping.
NEAR_M = 0.1
_CLIP_MARGIN = 1.0


@dataclass(frozen=True)
class Projector:
    """Projects road-frame points (lateral y right of the camera, distance d, height z) to pixels.

    The road frame follows the road: a point at fixed y stays in the same lane however the road
    bends. The bend is a clothoid start, x = y + yaw*d + curvature*d^2/2, accurate for the small
    heading changes a dashcam sees.

    Without a mount the camera is the forward one at the origin (lateral 0, distance 0) and
    every drawn point lies ahead of it. With a mount (a rig's side or rear camera), points go
    through its pose, and `polygon` / `polyline` clip what lies behind or far beside it.
    """

    width: int
    height: int
    focal: float
    horizon: float
    cam_height: float
    yaw: float
    curvature: float
    mount: Mount | None = None

    @classmethod
    def create(
        cls,
        size: tuple[int, int],
        camera: CameraParams,
        yaw: float,
        curvature: float,
        mount: Mount | None = None,
    ) -> Projector:
        """Build the projector for an image of size (W, H); `mount` places a rig camera."""
        width, height = size
        return cls(
            width=width,
            height=height,
            focal=camera.focal_frac * width,
            horizon=camera.horizon_frac * height,
            cam_height=camera.height_m if mount is None else mount.z,
            yaw=yaw,
            curvature=curvature,
            mount=mount,
        )

    def bend(self, d: np.ndarray | float) -> np.ndarray | float:
        """Lateral camera-frame shift of the road axis at distance d."""
        return self.yaw * d + 0.5 * self.curvature * d * d

    def project(
        self, y: np.ndarray | float, d: np.ndarray | float, z: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Pixel coordinates (..., 2) of road-frame points; they must lie ahead of the camera
        (d positive for the forward camera)."""
        right, down, depth = self._camera_frame(y, d, z)
        return self._pixels(right, down, depth)

    def polygon(
        self, y: np.ndarray | float, d: np.ndarray | float, z: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Pixel vertices [N, 2] of the road-frame polygon with these vertices, clipped to the
        camera's view for a mounted camera (N may then be 0)."""
        if self.mount is None:
            return self.project(y, d, z)
        frame = np.stack(np.broadcast_arrays(*self._camera_frame(y, d, z)), axis=-1)
        for normal in self._clip_planes():
            frame = _clip(frame.reshape(-1, 3), normal, closed=True)
        return self._pixels(frame[:, 0], frame[:, 1], frame[:, 2])

    def polyline(self, y: np.ndarray | float, d: np.ndarray | float) -> np.ndarray:
        """Pixel points [N, 2] of an open ground polyline, cut at the near plane of a mounted
        camera (its part in front of the camera, from its first point there)."""
        if self.mount is None:
            return self.project(y, d)
        frame = np.stack(np.broadcast_arrays(*self._camera_frame(y, d, 0.0)), axis=-1)
        frame = _clip(frame.reshape(-1, 3), self._clip_planes()[0], closed=False)
        return self._pixels(frame[:, 0], frame[:, 1], frame[:, 2])

    def range(self, y: float, d: float) -> float:
        """Ground distance from the camera to a road-frame point: the forward camera's d."""
        if self.mount is None:
            return float(d)
        x, left = self._vehicle_frame(y, d)
        return float(np.hypot(x - self.mount.x, left - self.mount.y))

    def ahead(self, y: float, d: float) -> bool:
        """Whether a road-frame point lies in front of the camera's near plane."""
        return self.mount is None or float(self._camera_frame(y, d, 0.0)[2]) > NEAR_M

    def lateral(self) -> float:
        """The camera's own lateral position in the forward camera's frame (right positive)."""
        return 0.0 if self.mount is None else -self.mount.y

    def near_distance(self) -> float:
        """Ground distance seen at the bottom image row."""
        return self.focal * self.cam_height / (self.height - self.horizon)

    def pixels_per_metre(self, d: float, y: float = 0.0) -> float:
        """Image size of one metre at distance d (lateral y for a mounted camera)."""
        if self.mount is None:
            return self.focal / d
        return self.focal / max(float(self._camera_frame(y, d, 0.0)[2]), NEAR_M)

    def _vehicle_frame(self, y: np.ndarray | float, d: np.ndarray | float) -> tuple:
        """(x forward, y left) of road-frame points in the vehicle frame."""
        d = np.asarray(d, float)
        return d, -(y + self.bend(d))

    def _camera_frame(
        self, y: np.ndarray | float, d: np.ndarray | float, z: np.ndarray | float
    ) -> tuple:
        """(right, down, depth) of road-frame points in the camera's level optical axes."""
        if self.mount is None:
            d = np.asarray(d, float)
            return y + self.bend(d), self.cam_height - np.asarray(z, float), d
        x, left = self._vehicle_frame(y, d)
        dx, dy = x - self.mount.x, left - self.mount.y
        cos, sin = np.cos(self.mount.yaw), np.sin(self.mount.yaw)
        depth = cos * dx + sin * dy
        right = sin * dx - cos * dy
        return right, self.cam_height - np.asarray(z, float), depth

    def _pixels(self, right: np.ndarray, down: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Pinhole projection of camera-frame points, clamped far outside the image."""
        depth = np.asarray(depth, float)
        u = 0.5 * self.width + self.focal * right / depth
        v = self.horizon + self.focal * down / depth
        points = np.empty((*np.broadcast(u, v).shape, 2))
        points[..., 0] = u
        points[..., 1] = v
        limit = _MAX_OFFSCREEN * max(self.width, self.height)
        return np.clip(points, -limit, limit, out=points)

    def _clip_planes(self) -> list[np.ndarray]:
        """Half-spaces (a, b, c, e: a right + b down + c depth + e >= 0) of the visible
        frustum widened by the margin: the near plane first, then the four sides."""
        margin = _CLIP_MARGIN * max(self.width, self.height)
        left, right = -0.5 * self.width - margin, 0.5 * self.width + margin
        top, bottom = -self.horizon - margin, self.height - self.horizon + margin
        f = self.focal
        return [
            np.array([0.0, 0.0, 1.0, -NEAR_M]),
            np.array([f, 0.0, -left, 0.0]),  # u >= left edge
            np.array([-f, 0.0, right, 0.0]),  # u <= right edge
            np.array([0.0, f, -top, 0.0]),
            np.array([0.0, -f, bottom, 0.0]),
        ]


def _clip(points: np.ndarray, plane: np.ndarray, closed: bool) -> np.ndarray:
    """Sutherland-Hodgman: the part [M, 3] of a polygon (closed) or polyline inside a plane."""
    if len(points) == 0:
        return points
    side = points @ plane[:3] + plane[3]
    inside = side >= 0
    if inside.all():
        return points
    if not closed:
        # keep the run from the first point inside, cut where it leaves
        first = int(np.argmax(inside))
        if not inside[first]:
            return points[:0]
        points, side, inside = points[first:], side[first:], inside[first:]
        outside = np.flatnonzero(~inside)
        if outside.size == 0:
            return points
        end = int(outside[0])
        t = side[end - 1] / (side[end - 1] - side[end])
        cut = points[end - 1] + t * (points[end] - points[end - 1])
        return np.concatenate([points[:end], cut[None]])
    following = np.roll(points, -1, axis=0)
    side_next = np.roll(side, -1)
    crossing = inside != (side_next >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(crossing, side / (side - side_next), 0.0)
    cut = points + t[:, None] * (following - points)
    candidates = np.stack([points, cut], axis=1).reshape(-1, 3)
    keep = np.stack([inside, crossing], axis=1).reshape(-1)
    return candidates[keep]
