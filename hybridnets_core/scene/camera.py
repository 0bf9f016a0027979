"""Camera model: intrinsics, lens distortion and rectification; pixels to rays and back.

One model serves every geometric consumer (ground grid, lane points, objects). Pixels
(u, v) are centred on integer coordinates as in CameraInfo/OpenCV; rays and points are in
the camera's optical frame (z forward, x right, y down; REP 103).

- A *rectified* image (image_rect) is a pinhole image: its intrinsics come from CameraInfo.p
  and its axes are the optical frame rotated by CameraInfo.r (identity for a monocular
  camera). P's translation column (stereo baseline) is not used: the camera's TF gives its
  position. An all-zero P (a driver that fills only K) falls back to K, with a warning
  (shown once per process by Python's default filter).
- A *raw* image (image_raw) uses CameraInfo.k and the distortion d. plumb_bob and
  rational_polynomial are undone by cv2.undistortPoints, iterated until each point reprojects
  within 1e-9 px, and applied forward by cv2.projectPoints. equidistant (OpenCV's fisheye
  model, theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8) for a ray at
  angle theta from the optical axis) is evaluated here and inverted by Newton's method up to
  the model's valid angle, where theta_d stops rising (at most 180 deg): a fisheye ray may lie
  more than 90 deg off the axis (behind the image plane), which OpenCV's fisheye functions
  clip. Pixels whose undistortion does not reproject onto themselves (beyond the range where
  the lens polynomial is invertible) get no ray (NaN).
- Distortion coefficients act on normalised coordinates, so resizing the image scales only
  the intrinsics; the coefficients and the rectification stay as they are.
"""

from __future__ import annotations

import bisect
import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..errors import ConfigError
from ..limits import MAX_FRAME_SIDE

P_UNSET_WARNING = (
    "camera_info P is all zero (not calibrated for rectified images): using K for the "
    "rectified image; publish P (or use the raw image) if the images are rectified otherwise"
)

NO_DISTORTION = "none"
PLUMB_BOB = "plumb_bob"
RATIONAL_POLYNOMIAL = "rational_polynomial"
EQUIDISTANT = "equidistant"
# Coefficient counts as CameraInfo carries them (REP 104 / sensor_msgs distortion_models).
DISTORTION_COEFFICIENTS = {PLUMB_BOB: 5, RATIONAL_POLYNOMIAL: 8, EQUIDISTANT: 4}

# Usable intrinsics, relative to the image size, so that they hold at any resize.
_FOCAL_PER_PIXEL = (1e-3, 1e4)  # focal length / image size (a field of view of ~0.006 deg up)
_CENTRE_MARGIN = 1.0  # principal point at most one image size outside the image
# Raw-image undistortion of plumb_bob / rational_polynomial pixels: OpenCV's fixed-point
# iteration, per point until its reprojection is within _UNDISTORT_EPS_PX (a fixed count stops
# short at the corners of strong lenses), at most _UNDISTORT_ITERATIONS times (pixels beyond the
# invertible range never get there). A recovered ray that reprojects further than
# _REPROJECTION_TOL_PX from its pixel counts as outside the invertible lens range.
_UNDISTORT_ITERATIONS = 200
_UNDISTORT_EPS_PX = 1e-9
_STANDARD_CRITERIA = (
    cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS,
    _UNDISTORT_ITERATIONS,
    _UNDISTORT_EPS_PX,
)
_REPROJECTION_TOL_PX = 0.05
# Equidistant inversion: safeguarded Newton on theta_d(theta), to this angle change (rad).
_ANGLE_ITERATIONS = 60
_ANGLE_TOL = 1e-15
_MIN_USABLE_SHARE = 0.25  # of a lattice over the image that must have valid rays
_CHUNK = 1 << 16  # points per projectPoints call (it always fills a 2N x 15 Jacobian)


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

    def matrix(self) -> np.ndarray:
        """3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics of the image the pixels come from, its lens distortion and rectification.

    `rectification` is CameraInfo.r row-major (rectified coordinates = R @ optical ones), None for
    identity; it applies to undistorted (rectified) images only.
    """

    intrinsics: CameraIntrinsics
    distortion_model: str = NO_DISTORTION
    distortion: tuple[float, ...] = ()
    rectification: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        model, coeffs = self.distortion_model, self.distortion
        if model == NO_DISTORTION:
            if coeffs:
                raise ConfigError("distortion coefficients given with distortion model 'none'")
        elif model not in DISTORTION_COEFFICIENTS:
            known = ", ".join(DISTORTION_COEFFICIENTS)
            raise ConfigError(f"unknown distortion model {model!r}: use one of {known}")
        elif len(coeffs) != DISTORTION_COEFFICIENTS[model]:
            raise ConfigError(
                f"distortion model {model} needs {DISTORTION_COEFFICIENTS[model]} coefficients, "
                f"got {len(coeffs)}"
            )
        if not all(math.isfinite(c) for c in coeffs):
            raise ConfigError(f"distortion coefficients must be finite, got {coeffs}")
        if self.rectification is not None:
            if self.distorted:
                raise ConfigError("a rectification R applies to rectified images only")
            require_rotation(np.asarray(self.rectification, dtype=float), "rectification R")

    @classmethod
    def pinhole(cls, intrinsics: CameraIntrinsics) -> CameraModel:
        """An undistorted camera with these intrinsics (what CameraIntrinsics alone means)."""
        return cls(intrinsics)

    @classmethod
    def from_camera_info(
        cls,
        k: Sequence[float],
        p: Sequence[float],
        d: Sequence[float],
        distortion_model: str,
        width: int,
        height: int,
        rectified: bool,
        r: Sequence[float] | None = None,
    ) -> CameraModel:
        """The model of the images a CameraInfo describes: rectified ones (P, R) or raw (K, d).

        Rejects, with a one-line ConfigError, what no resize could make usable: non-finite
        or non-positive focal lengths, a focal length or principal point absurd for the
        image size, wrong matrix or coefficient counts, an unknown distortion model, and
        distortion that leaves most of a raw image without valid rays.
        """
        width, height = int(width), int(height)
        if not (0 < width <= MAX_FRAME_SIDE and 0 < height <= MAX_FRAME_SIDE):
            raise ConfigError(f"camera_info image size {width}x{height} is not usable")
        _check_values(k, 9, "K")
        if rectified:
            _check_values(p, 12, "P")
            if any(p):
                intrinsics = _usable_intrinsics(p[0], p[5], p[2], p[6], width, height, "P")
            else:  # drivers without a rectification calibration leave P unset
                warnings.warn(P_UNSET_WARNING, stacklevel=2)
                intrinsics = _usable_intrinsics(k[0], k[4], k[2], k[5], width, height, "K")
            rotation = None
            if r is not None:
                _check_values(r, 9, "R")
                rotation = _rectification_or_none(r)
            return cls(intrinsics, rectification=rotation)
        intrinsics = _usable_intrinsics(k[0], k[4], k[2], k[5], width, height, "K")
        coeffs = tuple(float(c) for c in d)
        model = distortion_model
        if not any(coeffs) and model in ("", *DISTORTION_COEFFICIENTS):
            model, coeffs = NO_DISTORTION, ()  # all-zero coefficients: a pinhole camera
        elif model == "":
            raise ConfigError("camera_info has distortion coefficients but no distortion model")
        camera = cls(intrinsics, model, coeffs)
        camera._check_lens_is_usable()
        return camera

    @property
    def distorted(self) -> bool:
        """Whether pixels go through a lens distortion model (a raw image)."""
        return self.distortion_model != NO_DISTORTION

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return self.intrinsics.width

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return self.intrinsics.height

    def scaled_to(self, width: int, height: int) -> CameraModel:
        """The same camera seen through an image resized to `width` x `height`."""
        return replace(self, intrinsics=self.intrinsics.scaled_to(width, height))

    def pixel_rays(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Unit rays [..., 3] in the optical frame through pixels (u, v); NaN where none."""
        u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
        if u.shape != v.shape:
            u, v = np.broadcast_arrays(u, v)
        shape = u.shape
        u, v = u.ravel(), v.ravel()
        rays = self._directions(u, v)
        if self.distorted and u.size:
            back = self._distort(rays)
            lost = ~(np.hypot(back[:, 0] - u, back[:, 1] - v) <= _REPROJECTION_TOL_PX)
            rays[lost] = np.nan
        if self.rectification is not None:
            rays = rotate_rows(self._rectification().T, rays)  # rectified axes -> optical
        rays /= np.sqrt(np.einsum("ij,ij->i", rays, rays))[:, None]  # unit length
        return rays.reshape(*shape, 3)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixels [N, 2] of optical-frame points [N, 3], and whether each lies in front.

        Points behind the camera, or beyond where the lens model's distorted radius stops
        rising, get NaN; for an equidistant (fisheye) lens "in front" means within the model's
        valid angle of the optical axis, which may exceed 90 deg. Tangential terms are not
        checked for fold-back; callers that need that compare with pixel_rays.
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if self.rectification is not None:
            points = rotate_rows(self._rectification(), points)  # optical -> rectified axes
        off_axis = np.hypot(points[:, 0], points[:, 1])
        if self.distortion_model == EQUIDISTANT:
            in_front = np.arctan2(off_axis, points[:, 2]) < _fisheye_limit(self.distortion)[0]
        else:
            in_front = points[:, 2] > 1e-6
            if self.distorted:  # beyond the fold the forward polynomial turns back
                in_front &= off_axis < _radial_limit(self.distortion) * points[:, 2]
        pixels = np.full((len(points), 2), np.nan)
        if np.any(in_front):
            pixels[in_front] = self._distort(points[in_front])
        return pixels, in_front

    def _rectification(self) -> np.ndarray:
        return np.asarray(self.rectification, dtype=np.float64).reshape(3, 3)

    def _directions(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Ray directions [N, 3] (not unit length) in rectified axes of pixels (u, v), flat."""
        cam = self.intrinsics
        x, y = (u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy
        if self.distortion_model == EQUIDISTANT:
            return self._fisheye_directions(x, y)
        rays = np.ones((u.size, 3))
        if not self.distorted:
            rays[:, 0], rays[:, 1] = x, y
        elif u.size:
            src = np.stack([u, v], axis=1).reshape(-1, 1, 2)
            coeffs = np.asarray(self.distortion, dtype=np.float64)
            rays[:, :2] = _undistort_standard(src, cam.matrix(), coeffs).reshape(-1, 2)
        return rays

    def _fisheye_directions(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Unit rays [N, 3] of equidistant normalised distorted coordinates (x, y): theta from
        theta_d = hypot(x, y) by safeguarded Newton within [0, valid angle]; NaN beyond it."""
        coeffs = self.distortion
        limit, reach = _fisheye_limit(self.distortion)
        distorted = np.hypot(x, y)
        theta = np.minimum(distorted, limit)
        low, high = np.zeros_like(theta), np.full_like(theta, limit)
        with np.errstate(divide="ignore", invalid="ignore"):
            for _ in range(_ANGLE_ITERATIONS):
                error = _fisheye_radius(theta, coeffs) - distorted
                low = np.where(error < 0, theta, low)
                high = np.where(error > 0, theta, high)
                guess = theta - error / _fisheye_slope(theta, coeffs)
                guess = np.where((guess > low) & (guess < high), guess, 0.5 * (low + high))
                guess[error == 0] = theta[error == 0]
                change, theta = np.abs(guess - theta), guess
                if not change.max(initial=0.0) > _ANGLE_TOL:
                    break
            scale = np.where(distorted > 1e-300, np.sin(theta) / distorted, 1.0)
        rays = np.stack([x * scale, y * scale, np.cos(theta)], axis=1)
        rays[distorted > reach] = np.nan
        return rays

    def _distort(self, points: np.ndarray) -> np.ndarray:
        """Pixels [N, 2] of points [N, 3] in front of the camera (rectified axes)."""
        cam = self.intrinsics
        if not self.distorted:
            return np.stack(
                [
                    cam.fx * points[:, 0] / points[:, 2] + cam.cx,
                    cam.fy * points[:, 1] / points[:, 2] + cam.cy,
                ],
                1,
            )
        if self.distortion_model == EQUIDISTANT:
            off_axis = np.hypot(points[:, 0], points[:, 1])
            theta = np.arctan2(off_axis, points[:, 2])
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(
                    off_axis > 0, _fisheye_radius(theta, self.distortion) / off_axis, 0.0
                )
            return np.stack(
                [cam.fx * points[:, 0] * scale + cam.cx, cam.fy * points[:, 1] * scale + cam.cy],
                1,
            )
        coeffs = np.asarray(self.distortion, dtype=np.float64)
        zero = np.zeros((3, 1))
        out = np.empty((len(points), 2))
        for start in range(0, len(points), _CHUNK):
            chunk = points[start : start + _CHUNK]
            pixels, _ = cv2.projectPoints(chunk, zero, zero, cam.matrix(), coeffs)
            out[start : start + len(chunk)] = pixels.reshape(-1, 2)
        return out

    def _check_lens_is_usable(self) -> None:
        """Raise ConfigError when the distortion leaves most of the image without rays."""
        us = np.linspace(0, self.width - 1, 9)
        vs = np.linspace(0, self.height - 1, 9)
        rays = self.pixel_rays(*np.meshgrid(us, vs))
        share = float(np.mean(np.isfinite(rays[..., 0])))
        if share < _MIN_USABLE_SHARE:
            raise ConfigError(
                f"{self.distortion_model} coefficients {self.distortion} leave only "
                f"{share:.0%} of the image invertible: check the calibration"
            )


@functools.lru_cache(maxsize=16)
def _radial_limit(coeffs: tuple[float, ...]) -> float:
    """Normalised radius (tan of the angle off the axis) where a plumb_bob or
    rational_polynomial model's radial distortion r (1 + k1 r^2 + ...) / (1 + k4 r^2 + ...)
    stops rising (inf where it rises over the range sampled, 60 focal lengths)."""
    k1, k2, _, _, k3, *rest = (*coeffs, 0.0, 0.0, 0.0)
    k4, k5, k6 = rest[:3]
    radius = np.linspace(0.0, 60.0, 60001)[1:]
    square = radius * radius
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = (1 + square * (k1 + square * (k2 + square * k3))) / (
            1 + square * (k4 + square * (k5 + square * k6))
        )
        distorted = radius * scale
        rising = (np.diff(distorted) > 0) & (scale[1:] > 0) & np.isfinite(distorted[1:])
    stops = np.flatnonzero(~rising)
    return float(radius[stops[0]]) if stops.size else math.inf


@functools.lru_cache(maxsize=16)
def _fisheye_limit(coeffs: tuple[float, ...]) -> tuple[float, float]:
    """(theta, theta_d) where the equidistant model's theta_d(theta) stops rising (at most
    pi): the largest angle off the optical axis the lens model describes."""
    angles = np.linspace(0.0, math.pi, 4097)[1:]
    falling = np.flatnonzero(_fisheye_slope(angles, coeffs) <= 0)
    if not falling.size:
        return math.pi, float(_fisheye_radius(np.array(math.pi), coeffs))
    high = float(angles[falling[0]])
    low = high - angles[0]
    for _ in range(60):  # bisection on the slope's sign change
        middle = 0.5 * (low + high)
        if _fisheye_slope(np.array(middle), coeffs) > 0:
            low = middle
        else:
            high = middle
    return low, float(_fisheye_radius(np.array(low), coeffs))


def _fisheye_radius(theta: np.ndarray, coeffs: Sequence[float]) -> np.ndarray:
    """Equidistant distorted radius theta_d = theta (1 + k1 theta^2 + ... + k4 theta^8)."""
    square = theta * theta
    k1, k2, k3, k4 = coeffs
    return theta * (1 + square * (k1 + square * (k2 + square * (k3 + square * k4))))


def _fisheye_slope(theta: np.ndarray, coeffs: Sequence[float]) -> np.ndarray:
    """d theta_d / d theta of the equidistant model."""
    square = theta * theta
    k1, k2, k3, k4 = coeffs
    return 1 + square * (3 * k1 + square * (5 * k2 + square * (7 * k3 + square * 9 * k4)))


def _undistort_standard(src: np.ndarray, k: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """cv2.undistortPoints iterated to convergence for strong lenses (4.x and 5.x spellings)."""
    if hasattr(cv2, "undistortPointsIter"):
        return cv2.undistortPointsIter(src, k, coeffs, None, None, _STANDARD_CRITERIA)
    return cv2.undistortPoints(src, k, coeffs, criteria=_STANDARD_CRITERIA)


def _check_values(values: Sequence[float], count: int, name: str) -> None:
    if len(values) != count:
        raise ConfigError(f"camera_info {name} needs {count} values, got {len(values)}")
    if not all(math.isfinite(float(x)) for x in values):
        raise ConfigError(f"camera_info {name} has non-finite values: {list(values)}")


def _usable_intrinsics(
    fx: float, fy: float, cx: float, cy: float, width: int, height: int, source: str
) -> CameraIntrinsics:
    """Intrinsics whose ratios to the image size are sane, so every resize of them is too."""
    fx, fy, cx, cy = float(fx), float(fy), float(cx), float(cy)
    low, high = _FOCAL_PER_PIXEL
    if not (low * width <= fx <= high * width and low * height <= fy <= high * height):
        raise ConfigError(
            f"camera_info {source} focal lengths fx={fx}, fy={fy} are not usable for a "
            f"{width}x{height} image: calibrate the camera (or pick the other image input)"
        )
    margin = _CENTRE_MARGIN
    if not (-margin * width <= cx <= (1 + margin) * width) or not (
        -margin * height <= cy <= (1 + margin) * height
    ):
        raise ConfigError(
            f"camera_info {source} principal point ({cx}, {cy}) is far outside the "
            f"{width}x{height} image: check the calibration"
        )
    return CameraIntrinsics(fx, fy, cx, cy, width, height)


def _rectification_or_none(r: Sequence[float]) -> tuple[float, ...] | None:
    """R as a tuple, None when it is the identity or all zero (unset in many drivers)."""
    matrix = np.asarray(r, dtype=float).reshape(3, 3)
    if not matrix.any() or np.allclose(matrix, np.eye(3), atol=1e-12):
        return None
    return tuple(float(x) for x in matrix.ravel())


def rotate_rows(matrix: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """`matrix` applied to each row of `vectors` [N, 3] (as one 3xN product: fast in numpy)."""
    return (matrix @ vectors.T).T


def require_rotation(matrix: np.ndarray, name: str) -> None:
    """Raise ConfigError unless `matrix` is a finite 3x3 proper rotation."""
    if matrix.size != 9 or not np.all(np.isfinite(matrix)):
        raise ConfigError(f"{name} must be 9 finite values, got {matrix.ravel().tolist()}")
    matrix = matrix.reshape(3, 3)
    if not np.allclose(matrix @ matrix.T, np.eye(3), atol=1e-6) or np.linalg.det(matrix) <= 0:
        raise ConfigError(f"{name} is not a rotation matrix: {matrix.ravel().tolist()}")


class CameraModelHistory:
    """Recent camera models by stamp (ns), to pair each image with its own camera_info."""

    def __init__(self, tolerance_ns: int, capacity: int = 32) -> None:
        if tolerance_ns < 0 or capacity < 1:
            raise ConfigError(
                f"camera_info matching needs tolerance >= 0 and capacity >= 1, "
                f"got {tolerance_ns} ns and {capacity}"
            )
        self.tolerance_ns = int(tolerance_ns)
        self.capacity = int(capacity)
        self._stamps: list[int] = []
        self._models: list[CameraModel] = []

    def __len__(self) -> int:
        return len(self._stamps)

    def add(self, stamp_ns: int, model: CameraModel) -> None:
        """Keep `model` for `stamp_ns` (replacing one at the same stamp); drop the oldest."""
        index = bisect.bisect_left(self._stamps, stamp_ns)
        if index < len(self._stamps) and self._stamps[index] == stamp_ns:
            self._models[index] = model
            return
        self._stamps.insert(index, stamp_ns)
        self._models.insert(index, model)
        if len(self._stamps) > self.capacity:
            del self._stamps[0], self._models[0]

    def latest(self) -> CameraModel | None:
        """The model with the newest stamp, or None before the first one."""
        return self._models[-1] if self._models else None

    def for_image(self, stamp_ns: int) -> CameraModel | None:
        """The model for an image: the nearest within the tolerance, or with tolerance 0 the
        newest (a static calibration published once, with any stamp)."""
        return self.latest() if self.tolerance_ns == 0 else self.nearest(stamp_ns)

    def nearest(self, stamp_ns: int) -> CameraModel | None:
        """The model stamped closest to `stamp_ns` within the tolerance (the earlier on a tie)."""
        index = bisect.bisect_left(self._stamps, stamp_ns)
        best: tuple[int, int] | None = None
        for candidate in (index - 1, index):
            if 0 <= candidate < len(self._stamps):
                gap = abs(self._stamps[candidate] - stamp_ns)
                if gap <= self.tolerance_ns and (best is None or gap < best[0]):
                    best = (gap, candidate)
        return None if best is None else self._models[best[1]]
