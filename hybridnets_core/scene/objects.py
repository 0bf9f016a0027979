"""Objects on the ground: each detection's ground position, range, bearing, covariance and size.

The geometry is the ground grid's: the same CameraModel (camera.py, lens distortion
included) and camera pose in grid_frame, and the flat ground z = 0 of grid_frame.

- Contact point: where the middle of the object's face nearest the camera stands on the ground, at
  the box's bottom edge or, where given, at the row where the drivable-area mask shows the road
  resuming below the object (contact.py). Boxes are (x1, y1, x2, y2) in source pixels with edges at
  integers, as Letterbox.boxes_to_source gives them (a whole-image box is (0, 0, W, H)); the camera
  model puts pixel centres at integers, so the bottom row is y2 - 0.5 and the bottom corners are at
  columns x1 - 0.5 and x2 - 0.5. Their rays meet the ground at two points on the object's near edge.
  An object off to one side (both points on the same side of the camera in grid_frame y) also shows
  the side face that looks at the camera, which widens its box towards the image centre, so the
  bottom centre would pull it towards the camera's axis. Its position is instead the outer point
  moved towards the inner one by half the class's width prior, when the two points lie further apart
  than that prior (otherwise the box shows no more than the near face, and the bottom centre's ray
  is used). An object straddling the camera's axis shows only its near face: its position is the
  bottom centre's. Side faces are taken parallel to grid_frame x (traffic moving along the vehicle's
  direction).
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
- Size (length, width, height), with length along the line of sight: the width is the
  distance between the rays through the box's bottom corners where they cross the vertical
  plane through the position facing the camera (d_3d (x2 - x1) / fx where a corner has no
  ray); height and length are per-class priors. The width prior only places the contact
  point.
"""

from __future__ import annotations

import functools
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
    side_margin_px: float = setting(
        2.0,
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
    of sight, width across it, height) in m.
    """

    status: np.ndarray
    position: np.ndarray
    range: np.ndarray
    bearing: np.ndarray
    covariance: np.ndarray
    size: np.ndarray

    def __len__(self) -> int:
        return len(self.status)

    @property
    def valid(self) -> np.ndarray:
        """bool [N]: located on the ground."""
        return self.status == ObjectStatus.OK


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
    if contact_rows is not None:
        rows = np.asarray(contact_rows, dtype=np.float64)
        if rows.shape != (n,):
            raise InputError(f"contact rows must be [{n}], one per box, got {rows.shape}")
        bottom = np.where(np.isfinite(rows), rows - 0.5, bottom)
    pixels = np.empty((2, 7, n))
    pixels[0] = (left + right) * 0.5
    pixels[0, 1] -= _STEP_PX
    pixels[0, 2] += _STEP_PX
    pixels[0, 5], pixels[0, 6] = left, right
    pixels[1] = bottom
    pixels[1, 3] -= _STEP_PX
    pixels[1, 4] += _STEP_PX
    rays = placement.to_grid(model.pixel_rays(pixels[0].ravel(), pixels[1].ravel()))
    origin = placement.position
    ground, hits = intersect_ground(rays, origin)
    ground, rays = ground.reshape(7, n, 2), rays.reshape(7, n, 3)

    priors = settings.size_priors(class_names)[class_ids]
    position = _near_face_centres(ground[0], ground[5], ground[6], origin, priors[:, 2])
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
    covariance = _covariance(ground, ranges, along, placement.height, settings)
    size = np.empty((n, 3))
    size[:, 0], size[:, 2] = priors[:, 1], priors[:, 0]
    size[:, 1] = _widths(rays[5], rays[6], ranges, along, placement.height, boxes, model)

    lost = status != ObjectStatus.OK
    if lost.any():
        for values in (position, ranges, bearing, covariance, size):
            values[lost] = np.nan
    return GroundObjects(status, position, ranges, bearing, covariance, size)


def _near_face_centres(
    centre: np.ndarray, left: np.ndarray, right: np.ndarray, origin: np.ndarray, widths: np.ndarray
) -> np.ndarray:
    """[N, 2] ground points under the middle of each object's near face (see the module
    docstring): from the outer bottom corner half the width prior towards the inner one;
    the bottom centre's point where the box is not wider than the prior."""
    lateral_left, lateral_right = left[:, 1] - origin[1], right[:, 1] - origin[1]
    outer_is_left = (np.abs(lateral_left) >= np.abs(lateral_right))[:, None]
    outer = np.where(outer_is_left, left, right)
    span = np.where(outer_is_left, right, left) - outer
    length = np.hypot(span[:, 0], span[:, 1])
    # False where a corner has no ground point (NaN)
    side_view = (lateral_left * lateral_right > 0) & (length > widths)
    fraction = widths * 0.5 / np.maximum(length, 1e-9)
    return np.where(side_view[:, None], outer + span * fraction[:, None], centre)


def _covariance(
    ground: np.ndarray, ranges: np.ndarray, along: np.ndarray, height: float, s: ObjectSettings
) -> np.ndarray:
    """[N, 2, 2] covariance of the contact position from pixel and tilt errors."""
    scale = 1.0 / (2 * _STEP_PX)
    du = (ground[2] - ground[1]) * (scale * s.sigma_u_px)  # column error, one sigma
    dv = (ground[4] - ground[3]) * (scale * s.sigma_v_px)  # row error
    tilt = along * ((ranges * ranges + height * height) / height * s.sigma_pitch_rad)
    covariance = np.empty((len(ranges), 2, 2))
    covariance[:, 0, 0] = du[:, 0] ** 2 + dv[:, 0] ** 2 + tilt[0] ** 2
    covariance[:, 1, 1] = du[:, 1] ** 2 + dv[:, 1] ** 2 + tilt[1] ** 2
    covariance[:, 0, 1] = du[:, 0] * du[:, 1] + dv[:, 0] * dv[:, 1] + tilt[0] * tilt[1]
    covariance[:, 1, 0] = covariance[:, 0, 1]
    return covariance


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
