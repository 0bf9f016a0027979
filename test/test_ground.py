"""Inverse perspective mapping checked against closed-form flat-ground geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.ground import (
    DRIVABLE,
    NOT_DRIVABLE,
    UNSEEN,
    CameraIntrinsics,
    CameraPose,
    GridSpec,
    GroundProjector,
)

W, H, F = 640, 480, 400.0
HEIGHT, PITCH = 1.5, 0.2
CAM = CameraIntrinsics(F, F, (W - 1) / 2, (H - 1) / 2, W, H)
GRID = GridSpec(x_min=0.0, x_max=20.0, y_min=-5.0, y_max=5.0, resolution=0.1)


def ground_distance(row: float, cam: CameraIntrinsics = CAM) -> float:
    """Forward distance at which image row `row` meets the ground (camera at HEIGHT, PITCH)."""
    angle_below_horizon = PITCH + math.atan((row - cam.cy) / cam.fy)
    return HEIGHT / math.tan(angle_below_horizon)


def centre_row(grid: np.ndarray) -> np.ndarray:
    """The grid row at y = 0 (cells along x straight ahead)."""
    return grid[round((0.0 - GRID.y_min) / GRID.resolution)]


def cell_x(col: int) -> float:
    """x of a column's cell centre."""
    return GRID.x_min + (col + 0.5) * GRID.resolution


def test_grid_matches_flat_ground_geometry() -> None:
    projector = GroundProjector(CAM, CameraPose(z=HEIGHT, pitch=PITCH), GRID)
    boundary_row = 300
    drivable = np.zeros((H, W), dtype=bool)
    drivable[boundary_row:] = True
    grid = projector.occupancy(drivable)

    assert grid.shape == (GRID.height, GRID.width) == (100, 200)
    assert grid.dtype == np.int8
    assert set(np.unique(grid)) == {UNSEEN, DRIVABLE, NOT_DRIVABLE}
    near = ground_distance(H - 1)  # closest ground the camera sees
    edge = ground_distance(boundary_row - 0.5)  # drivable ends here
    res = GRID.resolution
    row = centre_row(grid)
    for col, value in enumerate(row):
        x = cell_x(col)
        if x < near - res:
            assert value == UNSEEN, x
        elif near + res < x < edge - res:
            assert value == DRIVABLE, x
        elif x > edge + res:
            assert value == NOT_DRIVABLE, x
    # Far to the side of the near field is outside the horizontal field of view.
    assert grid[0, 30] == UNSEEN and grid[-1, 30] == UNSEEN
    assert 0.0 < projector.visible_fraction < 1.0


def test_camera_offset_and_yaw_move_the_view() -> None:
    drivable = np.ones((H, W), dtype=bool)
    pose = CameraPose(x=2.0, y=-1.0, z=HEIGHT, pitch=PITCH, yaw=math.pi / 2)
    grid = GroundProjector(CAM, pose, GridSpec(-10.0, 10.0, -10.0, 10.0, 0.1)).occupancy(drivable)
    rows, cols = np.nonzero(grid == DRIVABLE)
    xs = -10.0 + (cols + 0.5) * 0.1
    ys = -10.0 + (rows + 0.5) * 0.1
    assert ys.min() >= -1.0 + ground_distance(H - 1) - 0.1  # looking along +y from y = -1
    assert abs(np.median(xs) - 2.0) < 0.2  # centred on the camera's x
    assert (grid[:79] == UNSEEN).all()  # rows with y < -2: behind the camera


def test_roll_keeps_the_optical_centre_on_the_axis() -> None:
    pose = CameraPose(z=HEIGHT, pitch=PITCH, roll=0.3)
    projector = GroundProjector(CAM, pose, GRID)
    mask = np.zeros((H, W), dtype=bool)
    mask[round(CAM.cy), round(CAM.cx)] = True
    (point,) = projector.ground_points(mask)
    assert point[0] == pytest.approx(HEIGHT / math.tan(PITCH), rel=0.02)
    assert point[1] == pytest.approx(0.0, abs=0.05)


def test_lane_points_lie_where_rows_meet_the_ground() -> None:
    projector = GroundProjector(CAM, CameraPose(z=HEIGHT, pitch=PITCH), GRID)
    lane = np.zeros((H, W), dtype=bool)
    lane[400, :] = True  # one image row: a line across the road
    lane[:100, :] = True  # above the horizon band: far outside the grid, dropped
    points = projector.ground_points(lane)
    assert points.dtype == np.float32 and points.shape[1] == 3
    assert np.allclose(points[:, 2], 0.0)
    assert points.shape[0] <= W
    centre = points[np.argmin(np.abs(points[:, 1]))]
    assert centre[0] == pytest.approx(ground_distance(400), rel=0.01)
    assert np.ptp(points[:, 1]) > 1.0  # the row spans the road sideways


def test_empty_masks_give_no_points_and_no_drivable_cells() -> None:
    projector = GroundProjector(CAM, CameraPose(z=HEIGHT, pitch=PITCH), GRID)
    empty = np.zeros((H, W), dtype=bool)
    assert projector.ground_points(empty).shape == (0, 3)
    assert DRIVABLE not in projector.occupancy(empty)


def test_scaled_intrinsics_describe_the_same_view() -> None:
    pose = CameraPose(z=HEIGHT, pitch=PITCH)
    full = GroundProjector(CAM, pose, GRID)
    half = GroundProjector(CAM.scaled_to(W // 2, H // 2), pose, GRID)
    mask = np.zeros((H, W), dtype=bool)
    mask[300:] = True
    a = full.occupancy(mask)
    b = half.occupancy(mask[::2, ::2])
    assert np.mean(a == b) > 0.98


def test_from_k_reads_camera_info_layout() -> None:
    cam = CameraIntrinsics.from_k([500.0, 0, 320.0, 0, 510.0, 240.0, 0, 0, 1], 640, 480)
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (500.0, 510.0, 320.0, 240.0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: CameraIntrinsics(0.0, 1.0, 0.0, 0.0, 10, 10),
        lambda: CameraIntrinsics(1.0, 1.0, 0.0, float("nan"), 10, 10),
        lambda: CameraIntrinsics(1.0, 1.0, 0.0, 0.0, 0, 10),
        lambda: CameraIntrinsics.from_k([1.0] * 4, 10, 10),
        lambda: CameraPose(z=0.0),
        lambda: CameraPose(yaw=float("inf")),
        lambda: GridSpec(resolution=0.0),
        lambda: GridSpec(x_min=5.0, x_max=5.0),
        lambda: GridSpec(resolution=0.001),
    ],
)
def test_invalid_calibration_is_a_config_error(build) -> None:
    with pytest.raises(ConfigError):
        build()


def test_mask_of_the_wrong_size_is_an_input_error() -> None:
    projector = GroundProjector(CAM, CameraPose(z=HEIGHT, pitch=PITCH), GRID)
    with pytest.raises(InputError, match="does not match"):
        projector.occupancy(np.zeros((H, W + 1), dtype=bool))
    with pytest.raises(InputError):
        projector.ground_points(np.zeros((H, W, 1), dtype=bool))
