"""Objects on the ground: each detection's ground position, range, bearing, covariance and size.

The geometry is the ground grid's: the same CameraModel (camera.py, lens distortion
included) and camera pose in grid_frame, and the flat ground z = 0 of grid_frame.

- Contact point: where the middle of the object's face nearest the camera stands on the ground, at
  the box's bottom edge or, where given, at the row where the drivable-area mask shows the road
  resuming below the object (contact.py). Boxes are (x1, y1, x2, y2) in source pixels with edges at
  integers, as Letterbox.boxes_to_source gives them (a whole-image box is (0, 0, W, H)); the camera
  model puts pixel centres at integers, so the bottom row is y2 - 0.5 and the bottom corners are at
  columns x1 - 0.5 and x2 - 0.5. Their rays meet the ground at two points on the object's near edge.
  Objects stand along grid_frame x (traffic moving along the vehicle's direction); the near face is
  the one facing the camera's viewing direction on the ground: an end for a camera looking more
  along grid_frame x than across it (front, rear), a long side otherwise (left, right cameras).
  An object off to one side (both points on the same side of the camera along its near face:
  grid_frame y for an end, x for a side) also shows the face that looks at the camera across,
  which widens its box towards the camera's axis, so the bottom centre would pull it inwards. Its
  position is instead the outer point moved towards the inner one by half the near face's width
  prior (the class's width for an end, its length for a side), when the two points lie further
  apart than that prior (otherwise the box shows no more than the near face, and the bottom
  centre's ray is used); then it is refined so that the cuboid of the class's size priors,
  standing there, projects with its outermost point on the box's outer column and its lowest
  point on the box's bottom row (Newton; for a level camera looking square to the near face,
  where that face's bottom edge lies on one image row, the refinement changes nothing). An
  object straddling the camera's line along its near face shows only that face: its position is
  the bottom centre's. The near face's bottom edge runs parallel to the image's horizon, which a
  rolled camera tilts: the box's bottom row is then the edge's lower end, and the bottom centre
  is taken half the box width's horizon rise above it (not where a mask contact row is used,
  which is read at the box's middle columns).
- Range and bearing: horizontal distance r and direction atan2(dy, dx) from the camera's
  foot point (camera x, y) to the position, in grid_frame axes (0 along +x, positive left).
- Not located (status other than OK, NaN outputs), never guessed: a box whose bottom is within
  bottom_margin_px of the image's bottom edge (the true contact is out of view), whose left or
  right edge is within side_margin_px of the image's side (the outer edge the position is
  measured from is out of view), whose contact ray does not meet the ground in front (at,
  above or within 0.05 px of the horizon, or outside the lens model's invertible range), or
  whose position lies outside the grid's extent; checked in that order, the first that
  applies is the status.
- Covariance of (x, y): first-order propagation of three independent errors.
  * Pixel error of the contact point, sigma_u (column) and sigma_v (row): the Jacobian
    J = d(x, y)/d(u, v) by central differences of the ground intersection, +-0.05 px through
    the full camera model; Sigma_pixel = J diag(sigma_u^2, sigma_v^2) J^T.
  * Tilt error sigma_pitch of the line of sight against the ground (camera pitch
    calibration, vehicle pitch, road slope), about the horizontal axis across the line of
    sight. With camera height h and depression angle a, r = h / tan(a), so exactly
    dr/da = -(r^2 + h^2) / h along the bearing b: Sigma_tilt = sigma_pitch^2 k^2 b b^T with
    k = (r^2 + h^2) / h.
  For a level pinhole camera and a point straight ahead, r = h f / (v - cy), so
  sigma_r^2 = (r^2 / (h f))^2 sigma_v^2 + ((r^2 + h^2) / h)^2 sigma_pitch^2 and the lateral
  sigma is r sigma_u / f: the uncertainty grows with the square of the range.
  The tilt part is also given alone (bias_covariance): a calibration, slope or pitch error
  changes over seconds, not from frame to frame, so a tracker filters with the pixel part as
  its measurement noise and adds the tilt part to the positions it reports; treating the tilt
  as fresh noise every frame would make its velocities lag by a second.
- Size (length, width, height), with length along the line of sight: the width is the
  distance between the rays through the box's bottom corners where they cross the vertical
  plane through the position facing the camera (d_3d (x2 - x1) / fx where a corner has no
  ray); height is the class's prior, and the length its prior extent behind the near face (its
  length for an end, its width for a side). The near face's width prior only places the
  contact point.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from ..errors import ConfigError, InputError
from ..settings import Floats, Names, check_settings, setting
from .camera import CameraIntrinsics, CameraModel
from .ground import (
    CameraPose,
    GridSpec,
    OpticalPose,
    as_camera_model,
    as_optical_pose,
    intersect_ground,
)

_STEP_PX = 0.05  # central-difference step of the pixel Jacobian
_NOISE_FLOOR_M = 0.001  # least frame-to-frame position error a tracker is given
# Newton fit of a side-viewed object's cuboid to its box: forward-difference step, iterations,
# largest move per iteration and the move at which it stops (m), and the largest pixel
# residual at which the fit is accepted.
_FIT_STEP_M = 1e-5
_FIT_ITERATIONS = 8
_FIT_MAX_MOVE_M = 2.0
_FIT_TOLERANCE_M = 1e-10
_FIT_RESIDUAL_PX = 1e-3
_FIT_PROBES = np.array([[0.0, 0.0], [_FIT_STEP_M, 0.0], [0.0, _FIT_STEP_M]])

# (class name, height m, length m, width m): typical road users; BDD100K and common alias names.
DEFAULT_CLASS_SIZES: tuple[tuple[str, float, float, float], ...] = (
    ("car", 1.5, 4.5, 1.8),
    ("truck", 3.0, 8.0, 2.5),
    ("bus", 3.2, 12.0, 2.55),
    ("train", 3.8, 20.0, 3.0),
    ("person", 1.7, 0.5, 0.6),
    ("pedestrian", 1.7, 0.5, 0.6),
    ("rider", 1.7, 1.8, 0.7),
    ("motor", 1.4, 2.0, 0.8),
    ("motorcycle", 1.4, 2.0, 0.8),
    ("bike", 1.4, 1.8, 0.6),
    ("bicycle", 1.4, 1.8, 0.6),
)


class ObjectStatus(IntEnum):
    """Whether a detection was located on the ground, and why not."""

    OK = 0
    CUT_AT_BOTTOM = 1  # box reaches the image's bottom edge: the contact is not visible
    ABOVE_HORIZON = 2  # contact ray does not meet the ground in front of the camera
    OUTSIDE_GRID = 3  # on the ground but outside the grid's extent
    CUT_AT_SIDE = 4  # box reaches the image's left or right edge: its outer edge is not visible


@dataclass(frozen=True)
class ObjectSettings:
    """Error model, image-edge margins and size priors for locate_objects; the size priors
    are parallel lists, one entry per name in `prior_classes`."""

    sigma_u_px: float = setting(
        1.0, "Column error (px, 1 sigma) of an object's contact point.", low=0.0, high=100.0
    )
    sigma_v_px: float = setting(
        2.0, "Row error (px, 1 sigma) of an object's contact point.", low=0.0, high=100.0
    )
    sigma_pitch_rad: float = setting(
        0.01,
        "Tilt error (rad, 1 sigma) of the line of sight against the ground (pitch calibration, "
        "vehicle pitch, road slope).",
        low=0.0,
        high=0.5,
    )
    bottom_margin_px: float = setting(
        2.0,
        "A box this near (px) to the image's bottom edge is not located (contact out of view).",
        low=0.0,
        high=1000.0,
    )
    # detectors end a box cut by the image's side a few pixels short of it
    side_margin_px: float = setting(
        8.0,
        "A box this near (px) to the image's left or right edge is not located (outer edge out "
        "of view).",
        low=0.0,
        high=1000.0,
    )
    prior_classes: Names = setting(
        Names(name for name, *_ in DEFAULT_CLASS_SIZES),
        "Class names with a size prior; prior_heights_m, prior_lengths_m and prior_widths_m "
        "hold one value per name.",
        runtime=False,
    )
    prior_heights_m: Floats = setting(
        Floats(sizes[1] for sizes in DEFAULT_CLASS_SIZES),
        "Height prior (m) per prior_classes name.",
        low=0.01,
        high=100.0,
    )
    prior_lengths_m: Floats = setting(
        Floats(sizes[2] for sizes in DEFAULT_CLASS_SIZES),
        "Length prior (m, along the line of sight) per prior_classes name.",
        low=0.01,
        high=100.0,
    )
    prior_widths_m: Floats = setting(
        Floats(sizes[3] for sizes in DEFAULT_CLASS_SIZES),
        "Width prior (m) per prior_classes name; places objects seen partly from the side.",
        low=0.01,
        high=100.0,
    )
    default_height_m: float = setting(
        1.5, "Height prior (m) of a class not in prior_classes.", low=0.01, high=100.0
    )
    default_length_m: float = setting(
        1.5, "Length prior (m) of a class not in prior_classes.", low=0.01, high=100.0
    )
    default_width_m: float = setting(
        1.5, "Width prior (m) of a class not in prior_classes.", low=0.01, high=100.0
    )

    def __post_init__(self) -> None:
        check_settings(self, "object")
        count = len(self.prior_classes)
        for name in ("prior_heights_m", "prior_lengths_m", "prior_widths_m"):
            if len(getattr(self, name)) != count:
                raise ConfigError(
                    f"object {name} needs one value per prior_classes name ({count}), "
                    f"got {len(getattr(self, name))}"
                )

    def size_priors(self, class_names: Sequence[str]) -> np.ndarray:
        """[C, 3] (height, length, width) per class name, the defaults for names without one."""
        return _size_priors(self, tuple(class_names))


@functools.lru_cache(maxsize=16)
def _size_priors(settings: ObjectSettings, class_names: tuple[str, ...]) -> np.ndarray:
    """ObjectSettings.size_priors, remembered (read-only) for the per-frame path."""
    sizes = zip(settings.prior_heights_m, settings.prior_lengths_m, settings.prior_widths_m)
    table = dict(zip(settings.prior_classes, sizes))
    default = (settings.default_height_m, settings.default_length_m, settings.default_width_m)
    priors = np.array([table.get(name, default) for name in class_names], dtype=np.float64)
    priors = priors.reshape(-1, 3)
    priors.flags.writeable = False
    return priors


_DEFAULTS = ObjectSettings()


@dataclass(frozen=True)
class GroundObjects:
    """Per-detection ground estimates; rows whose status is not OK hold NaN.

    position [N, 2] (x, y) and covariance [N, 2, 2] in grid_frame (m, m^2); range [N] (m)
    and bearing [N] (rad) from the camera's foot point; size [N, 3] (length along the line
    of sight, width across it, height) in m; centre [N, 2]: the object's middle, half its
    length behind the near face, the same point whichever camera sees it; bias_covariance
    [N, 2, 2]: the part of covariance from the tilt error, which persists over frames.
    """

    status: np.ndarray
    position: np.ndarray
    range: np.ndarray
    bearing: np.ndarray
    covariance: np.ndarray
    size: np.ndarray
    centre: np.ndarray
    bias_covariance: np.ndarray

    def __len__(self) -> int:
        return len(self.status)

    @property
    def noise_covariance(self) -> np.ndarray:
        """[N, 2, 2] the part of covariance from pixel errors, fresh in every frame, with a
        1 mm floor so it stays positive definite where the pixel errors are set to 0."""
        return self.covariance - self.bias_covariance + _NOISE_FLOOR_M**2 * np.eye(2)

    @property
    def valid(self) -> np.ndarray:
        """bool [N]: located on the ground."""
        return self.status == ObjectStatus.OK

    @property
    def extents(self) -> np.ndarray:
        """[N, 3] size as (extent along grid x, along grid y, height): the length behind the
        near face runs from it through the centre, along x for an end, along y for a side."""
        offset = self.centre - self.position
        extents = np.array(self.size, dtype=np.float64)
        side_on = np.abs(offset[:, 1]) > np.abs(offset[:, 0])
        extents[side_on, :2] = extents[side_on, 1::-1]
        return extents


def locate_objects(
    boxes: np.ndarray,
    class_ids: np.ndarray,
    class_names: Sequence[str],
    camera: CameraModel | CameraIntrinsics,
    pose: CameraPose | OpticalPose,
    grid: GridSpec,
    settings: ObjectSettings | None = None,
    contact_rows: np.ndarray | None = None,
) -> GroundObjects:
    """Ground estimates of detections (boxes [N, 4] in the pixels `camera` describes).

    class_ids [N] index class_names (as in PerceptionResult); `camera` must describe the
    source image (scale a camera_info model with scaled_to first). contact_rows [N], where
    finite, is the row the object meets the ground in place of its box's bottom edge
    (contact.drivable_contact_rows).
    """
    settings = settings or _DEFAULTS
    boxes = _checked_boxes(boxes)
    class_ids = _checked_ids(class_ids, len(boxes), len(class_names))
    model, placement = as_camera_model(camera), as_optical_pose(pose)
    n = len(boxes)
    # Rays of: the contact point, it at u -/+ step and v -/+ step, the bottom corners.
    left, right, bottom = boxes[:, 0] - 0.5, boxes[:, 2] - 0.5, boxes[:, 3] - 0.5
    # The box's bottom row is the lower end of the near face's bottom edge, which runs parallel
    # to the image's horizon (tilted by the camera's roll): its middle lies that much higher.
    middle = bottom - np.abs(_horizon_slope(model, placement)) * (right - left) * 0.5
    if contact_rows is not None:
        rows = np.asarray(contact_rows, dtype=np.float64)
        if rows.shape != (n,):
            raise InputError(f"contact rows must be [{n}], one per box, got {rows.shape}")
        found = np.isfinite(rows)  # the mask's row is read at the box's middle columns
        bottom = np.where(found, rows - 0.5, bottom)
        middle = np.where(found, bottom, middle)
    pixels = np.empty((2, 7, n))
    pixels[0] = (left + right) * 0.5
    pixels[0, 1] -= _STEP_PX
    pixels[0, 2] += _STEP_PX
    pixels[0, 5], pixels[0, 6] = left, right
    pixels[1] = middle
    pixels[1, 3] -= _STEP_PX
    pixels[1, 4] += _STEP_PX
    pixels[1, 5:] = bottom
    rays = placement.to_grid(model.pixel_rays(pixels[0].ravel(), pixels[1].ravel()))
    origin = placement.position
    ground, hits = intersect_ground(rays, origin)
    ground, rays = ground.reshape(7, n, 2), rays.reshape(7, n, 3)

    faces = _NearFaces.of(placement, settings.size_priors(class_names)[class_ids])
    position, side_view, outer_is_left = _near_face_centres(
        ground[0], ground[5], ground[6], origin, faces
    )
    if side_view.any():
        position[side_view] = _fit_outer_corner(
            position[side_view],
            np.where(outer_is_left, left, right)[side_view],
            outer_is_left[side_view],
            bottom[side_view],
            faces.subset(side_view),
            model,
            placement,
        )
    status = np.zeros(n, dtype=np.int8)
    status[~grid.contains(position[:, 0], position[:, 1])] = ObjectStatus.OUTSIDE_GRID
    status[~hits.reshape(7, n)[:5].all(axis=0)] = ObjectStatus.ABOVE_HORIZON
    margin = settings.side_margin_px
    side_cut = (boxes[:, 0] <= margin) | (boxes[:, 2] >= model.width - margin)
    status[side_cut] = ObjectStatus.CUT_AT_SIDE
    status[boxes[:, 3] >= model.height - settings.bottom_margin_px] = ObjectStatus.CUT_AT_BOTTOM

    dx, dy = position[:, 0] - origin[0], position[:, 1] - origin[1]
    ranges = np.hypot(dx, dy)
    bearing = np.arctan2(dy, dx)
    along = np.empty((2, n))  # unit line of sight
    np.cos(bearing, out=along[0])
    np.sin(bearing, out=along[1])
    bias_covariance = _tilt_covariance(ranges, along, placement.height, settings)
    covariance = _pixel_covariance(ground, settings) + bias_covariance
    size = np.empty((n, 3))
    size[:, 0], size[:, 2] = faces.depth, faces.height
    size[:, 1] = _widths(rays[5], rays[6], ranges, along, placement.height, boxes, model)

    # away from the camera across the near face: the direction the hidden length extends in
    away = np.sign((position - origin[:2]) @ faces.across)
    centre = position + (away * faces.depth * 0.5)[:, None] * faces.across

    lost = status != ObjectStatus.OK
    if lost.any():
        for values in (position, ranges, bearing, covariance, size, centre, bias_covariance):
            values[lost] = np.nan
    return GroundObjects(
        status, position, ranges, bearing, covariance, size, centre, bias_covariance
    )


@dataclass(frozen=True)
class _NearFaces:
    """How each object shows itself to the camera. Objects stand along grid_frame x (traffic
    moving along the vehicle's direction); the face nearest the camera is the one that faces the
    camera's viewing direction on the ground: an end for a camera looking more along grid x than
    across it (front, rear), a long side otherwise (left, right)."""

    along: np.ndarray  # [2] unit ground direction in which the near faces run
    across: np.ndarray  # [2] unit ground direction square to them
    extent: np.ndarray  # [N] near face's width prior (m)
    depth: np.ndarray  # [N] the object's extent prior behind its near face (m)
    height: np.ndarray  # [N] height prior (m)

    @classmethod
    def of(cls, pose: OpticalPose, priors: np.ndarray) -> _NearFaces:
        """Near faces for the camera at `pose` of objects with priors [N, 3] (h, l, w)."""
        axis = pose.rotation_matrix()[:2, 2]  # optical axis on the ground
        x_axis, y_axis = np.array([1.0, 0.0]), np.array([0.0, 1.0])
        if abs(axis[0]) >= abs(axis[1]):  # ends face the camera
            return cls(y_axis, x_axis, priors[:, 2], priors[:, 1], priors[:, 0])
        return cls(x_axis, y_axis, priors[:, 1], priors[:, 2], priors[:, 0])

    def subset(self, keep: np.ndarray) -> _NearFaces:
        """The faces of the objects `keep` selects."""
        return _NearFaces(
            self.along, self.across, self.extent[keep], self.depth[keep], self.height[keep]
        )


def _near_face_centres(
    centre: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    origin: Sequence[float],
    faces: _NearFaces,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[N, 2] ground points under the middle of each object's near face (see the module
    docstring), whether each object shows a side face too and whether its outer corner is the
    box's left one: from the outer bottom corner half the near face's width prior towards the
    inner one; the bottom centre's point where the box is not wider than the prior."""
    foot = np.asarray(origin[:2], dtype=np.float64)
    lateral_left, lateral_right = (left - foot) @ faces.along, (right - foot) @ faces.along
    outer_is_left = np.abs(lateral_left) >= np.abs(lateral_right)
    outer = np.where(outer_is_left[:, None], left, right)
    span = np.where(outer_is_left[:, None], right, left) - outer
    length = np.hypot(span[:, 0], span[:, 1])
    # False where a corner has no ground point (NaN)
    side_view = (lateral_left * lateral_right > 0) & (length > faces.extent)
    fraction = faces.extent * 0.5 / np.maximum(length, 1e-9)
    position = np.where(side_view[:, None], outer + span * fraction[:, None], centre)
    return position, side_view, outer_is_left


def _fit_outer_corner(
    start: np.ndarray,
    outer_column: np.ndarray,
    outer_is_left: np.ndarray,
    bottom_row: np.ndarray,
    faces: _NearFaces,
    camera: CameraModel,
    pose: OpticalPose,
) -> np.ndarray:
    """Near-face middles [M, 2] of objects seen partly from the side, placed so that the cuboid
    of their size priors standing there projects with its outermost point on the box's outer
    column and its lowest point on the box's bottom row (Newton from `start`).

    `start` already is that point for a level camera looking along the near face's normal,
    where the near face's bottom edge lies on one image row; a tilted, yawed or side-mounted
    camera sees a corner lowest. Where Newton does not converge the start stays."""
    rotation, origin = pose.rotation_matrix(), np.asarray(pose.position)
    # Corner offsets [M, 8, 3] from the near face's middle; the object lies beyond that face.
    beyond = np.sign((start - origin[:2]) @ faces.across)
    offsets = np.zeros((len(start), 8, 3))
    for index, (side, back, top) in enumerate(np.ndindex(2, 2, 2)):
        offsets[:, index, :2] = (side - 0.5) * faces.extent[:, None] * faces.along
        offsets[:, index, :2] += (back * beyond * faces.depth)[:, None] * faces.across
        offsets[:, index, 2] = top * faces.height
    target = np.column_stack([outer_column, bottom_row])

    def residuals(middles: np.ndarray) -> np.ndarray:
        """[K, M, 2] outer column and lowest row of the cuboids at middles [K, M, 2], minus
        the box's."""
        corners = (
            offsets + np.concatenate([middles, np.zeros((*middles.shape[:2], 1))], -1)[:, :, None]
        )
        pixels, _ = camera.project(((corners - origin) @ rotation).reshape(-1, 3))
        pixels = pixels.reshape(*corners.shape[:3], 2)  # NaN for corners behind the camera
        lowest = np.fmax.reduce(pixels[..., 1], axis=-1)
        outermost = np.where(
            outer_is_left,
            np.fmin.reduce(pixels[..., 0], axis=-1),
            np.fmax.reduce(pixels[..., 0], axis=-1),
        )
        return np.stack([outermost, lowest], axis=-1) - target

    middles = start.copy()
    for _ in range(_FIT_ITERATIONS):
        probes = middles + _FIT_PROBES[:, None]  # the middles and one step along x and y
        error = residuals(probes)
        jacobian = np.stack([error[1] - error[0], error[2] - error[0]], axis=-1) / _FIT_STEP_M
        solvable = np.abs(np.linalg.det(jacobian)) > 1e-12
        update = np.zeros_like(middles)
        update[solvable] = np.linalg.solve(jacobian[solvable], error[0][solvable, :, None])[..., 0]
        size = np.hypot(update[:, 0], update[:, 1])
        middles -= update * np.minimum(1.0, _FIT_MAX_MOVE_M / np.maximum(size, 1e-300))[:, None]
        if not np.nanmax(size, initial=0.0) > _FIT_TOLERANCE_M:
            break
    converged = np.abs(residuals(middles[None])[0]).max(axis=-1) < _FIT_RESIDUAL_PX
    return np.where(converged[:, None], middles, start)


def _horizon_slope(camera: CameraModel, pose: OpticalPose) -> float:
    """Image slope (rows per column) of a ground line square to the camera's line of sight:
    the horizon's, 0 for a camera without roll."""
    rotation = pose.rotation_matrix()
    axis = rotation[:2, 2]
    norm = math.hypot(axis[0], axis[1])
    if norm < 1e-9:  # looking straight down: no direction is across the line of sight
        return 0.0
    direction = np.array([-axis[1], axis[0], 0.0]) / norm @ rotation  # in optical axes
    if camera.rectification is not None:
        direction = np.asarray(camera.rectification).reshape(3, 3) @ direction
    if abs(direction[0]) < 1e-12:
        return 0.0
    cam = camera.intrinsics
    return float(cam.fy * direction[1] / (cam.fx * direction[0]))


def _pixel_covariance(ground: np.ndarray, s: ObjectSettings) -> np.ndarray:
    """[N, 2, 2] covariance of the contact position from the contact pixel's errors."""
    scale = 1.0 / (2 * _STEP_PX)
    du = (ground[2] - ground[1]) * (scale * s.sigma_u_px)  # column error, one sigma
    dv = (ground[4] - ground[3]) * (scale * s.sigma_v_px)  # row error
    return du[:, :, None] * du[:, None, :] + dv[:, :, None] * dv[:, None, :]


def _tilt_covariance(
    ranges: np.ndarray, along: np.ndarray, height: float, s: ObjectSettings
) -> np.ndarray:
    """[N, 2, 2] covariance of the contact position from the line of sight's tilt error."""
    tilt = (along * ((ranges * ranges + height * height) / height * s.sigma_pitch_rad)).T
    return tilt[:, :, None] * tilt[:, None, :]


def _widths(
    left: np.ndarray,
    right: np.ndarray,
    ranges: np.ndarray,
    along: np.ndarray,
    height: float,
    boxes: np.ndarray,
    camera: CameraModel,
) -> np.ndarray:
    """Box width (m) in the vertical plane through the position that faces the camera."""
    facing_left = left[:, 0] * along[0] + left[:, 1] * along[1]
    facing_right = right[:, 0] * along[0] + right[:, 1] * along[1]
    crosses = (facing_left > 1e-9) & (facing_right > 1e-9)
    t_left = ranges / np.maximum(facing_left, 1e-9)
    t_right = ranges / np.maximum(facing_right, 1e-9)
    spread = t_right[:, None] * right - t_left[:, None] * left
    widths = np.sqrt(np.einsum("ij,ij->i", spread, spread))
    crosses &= np.isfinite(widths)  # False where a corner has no ray (NaN)
    if crosses.all():
        return widths
    distance = np.hypot(ranges, height)  # camera to contact point
    fallback = distance * (boxes[:, 2] - boxes[:, 0]) / camera.intrinsics.fx
    return np.where(crosses, widths, fallback)


def _checked_boxes(boxes: np.ndarray) -> np.ndarray:
    """float64 [N, 4] boxes, or InputError naming what is wrong with them."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise InputError(f"boxes must be [N, 4] (x1, y1, x2, y2), got shape {boxes.shape}")
    if not np.isfinite(boxes).all():
        raise InputError("boxes contain non-finite coordinates")
    if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any():
        raise InputError("boxes need x1 <= x2 and y1 <= y2")
    return boxes


def _checked_ids(class_ids: np.ndarray, count: int, classes: int) -> np.ndarray:
    """int [N] class ids within class_names, or InputError."""
    ids = np.asarray(class_ids)
    if ids.shape != (count,):
        raise InputError(f"{count} boxes need {count} class ids, got shape {ids.shape}")
    integral = np.issubdtype(ids.dtype, np.integer)
    if count and (not integral or ids.min() < 0 or ids.max() >= classes):
        raise InputError(f"class ids must be integers in [0, {classes}), got {ids.tolist()}")
    return ids.astype(np.int64)
