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
class Projector:
    """Projects road-frame points (lateral y right of the camera, distance d, height z) to pixels.

    The road frame follows the road: a point at fixed y stays in the same lane however the road
    bends. The bend is a clothoid start, x = y + yaw*d + curvature*d^2/2, accurate for the small
    heading changes a dashcam sees.
    """

    width: int
    height: int
    focal: float
    horizon: float
    cam_height: float
    yaw: float
    curvature: float

    @classmethod
    def create(
        cls, size: tuple[int, int], camera: CameraParams, yaw: float, curvature: float
    ) -> Projector:
        """Build the projector for an image of size (W, H)."""
        width, height = size
        return cls(
            width=width,
            height=height,
            focal=camera.focal_frac * width,
            horizon=camera.horizon_frac * height,
            cam_height=camera.height_m,
            yaw=yaw,
            curvature=curvature,
        )

    def bend(self, d: np.ndarray | float) -> np.ndarray | float:
        """Lateral camera-frame shift of the road axis at distance d."""
        return self.yaw * d + 0.5 * self.curvature * d * d

    def project(
        self, y: np.ndarray | float, d: np.ndarray | float, z: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Pixel coordinates (..., 2) of road-frame points; d must be positive."""
        d = np.asarray(d, float)
        u = 0.5 * self.width + self.focal * (y + self.bend(d)) / d
        v = self.horizon + self.focal * (self.cam_height - z) / d
        points = np.empty((*np.broadcast(u, v).shape, 2))
        points[..., 0] = u
        points[..., 1] = v
        limit = _MAX_OFFSCREEN * max(self.width, self.height)
        return np.clip(points, -limit, limit, out=points)

    def near_distance(self) -> float:
        """Ground distance seen at the bottom image row."""
        return self.focal * self.cam_height / (self.height - self.horizon)

    def pixels_per_metre(self, d: float) -> float:
        """Image size of one metre at distance d."""
        return self.focal / d
