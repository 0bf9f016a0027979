"""Free space as a laser scan, checked against closed-form geometry: walls at known distances,
REP 117's +inf and NaN, REP 103 bearings, and a real camera's ground grid."""

# ruff: noqa: F811  (the fixtures imported from a helper module are requested by name)

from __future__ import annotations

import math

import numpy as np
import pytest
from output_fixtures import STAMP, build, frame  # noqa: F401 (fixture)

from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.errors import InputError
from hybridnets_core.outputs.settings import GroundSettings, OutputSettings
from hybridnets_core.scene.free_space import (
    MAX_BEARINGS,
    FreeSpaceRays,
    FreeSpaceScanner,
    bearings,
    grid_reach,
    seen_arc,
)
from hybridnets_core.scene.ground import (
    DRIVABLE,
    NOT_DRIVABLE,
    UNSEEN,
    CameraIntrinsics,
    CameraPose,
    GridSpec,
    GroundProjector,
)

GRID = GridSpec(x_min=0.0, x_max=40.0, y_min=-10.0, y_max=10.0, resolution=0.2)
ANGLES = np.linspace(-0.6, 0.6, 25)  # every ray ahead leaves the grid through x = 40


def ground(fill: int, grid: GridSpec = GRID) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An occupancy grid of one value, and its cell centres (x, y)."""
    xs, ys = grid.cell_centres()
    return np.full((grid.height, grid.width), fill, np.int8), xs, ys


def test_a_wall_ahead_is_met_at_its_distance_along_every_bearing() -> None:
    occupancy, xs, _ = ground(DRIVABLE)
    occupancy[xs > 10.0] = NOT_DRIVABLE  # a wall from x = 10 m on (a cell boundary)
    ranges = FreeSpaceRays(GRID, ANGLES).ranges(occupancy)
    assert ranges.dtype == np.float32
    np.testing.assert_allclose(ranges, 10.0 / np.cos(ANGLES), rtol=1e-6)
    occupancy[:] = NOT_DRIVABLE
    occupancy[xs < 7.3] = DRIVABLE  # off the cell lines: met at the next boundary, x = 7.4
    ranges = FreeSpaceRays(GRID, ANGLES).ranges(occupancy)
    assert np.all(np.abs(ranges * np.cos(ANGLES) - 7.3) <= GRID.resolution)


def test_all_drivable_is_no_return_and_nothing_seen_is_invalid() -> None:
    rays = FreeSpaceRays(GRID, ANGLES)
    assert np.all(np.isposinf(rays.ranges(ground(DRIVABLE)[0])))
    assert np.all(np.isnan(rays.ranges(ground(UNSEEN)[0])))
    behind = FreeSpaceRays(GRID, np.array([math.pi, math.pi / 2 + 0.1]))  # the grid is ahead
    assert np.all(np.isnan(behind.ranges(ground(DRIVABLE)[0])))
    with pytest.raises(InputError, match="does not match"):
        rays.ranges(np.zeros((3, 4), np.int8))


def test_rays_start_at_the_first_seen_cell_and_end_where_the_seen_area_does() -> None:
    occupancy, xs, _ = ground(DRIVABLE)
    occupancy[xs < 3.0] = UNSEEN  # below the lowest image row
    occupancy[xs > 10.0] = NOT_DRIVABLE
    np.testing.assert_allclose(
        FreeSpaceRays(GRID, ANGLES).ranges(occupancy), 10.0 / np.cos(ANGLES), rtol=1e-6
    )
    occupancy[xs > 3.0] = NOT_DRIVABLE  # the first seen cell is already blocked
    np.testing.assert_allclose(
        FreeSpaceRays(GRID, ANGLES).ranges(occupancy), 3.0 / np.cos(ANGLES), rtol=1e-6
    )
    occupancy, xs, _ = ground(DRIVABLE)
    occupancy[(xs > 8.0) & (xs < 12.0)] = UNSEEN  # the view ends before the wall
    occupancy[xs > 12.0] = NOT_DRIVABLE
    assert np.all(np.isposinf(FreeSpaceRays(GRID, ANGLES).ranges(occupancy)))


def test_bearings_turn_counter_clockwise_from_x_towards_y_left() -> None:
    occupancy, xs, ys = ground(DRIVABLE)
    post = (np.abs(xs - 5.1) < 0.1) & (np.abs(ys - 3.1) < 0.1)  # one cell, 5.1 m ahead, 3.1 left
    occupancy[post] = NOT_DRIVABLE
    bearing = math.atan2(3.1, 5.1)
    ranges = FreeSpaceRays(GRID, np.array([bearing, -bearing])).ranges(occupancy)
    assert abs(ranges[0] - math.hypot(5.1, 3.1)) <= GRID.resolution and np.isposinf(ranges[1])
    scanner = FreeSpaceScanner(GRID, np.arange(GRID.width * GRID.height))
    scan = scanner.scan(occupancy)
    angles = scan.angle_min + np.arange(len(scan.ranges)) * scan.angle_increment
    left = np.flatnonzero(np.isfinite(scan.ranges))
    assert len(left) and np.all(np.abs(angles[left] - bearing) < 0.05)
    assert scan.angle_max == pytest.approx(angles[-1])


def test_the_scan_spans_the_seen_cells_and_the_grid_sets_its_limits() -> None:
    _, xs, ys = ground(DRIVABLE)
    wedge = np.flatnonzero(((xs > 2.0) & (np.abs(np.arctan2(ys, xs)) < 0.5)).ravel())
    start, width = seen_arc(GRID, wedge)
    assert start == pytest.approx(-0.5, abs=0.02) and width == pytest.approx(1.0, abs=0.04)
    scanner = FreeSpaceScanner(GRID, wedge)
    assert scanner.angle_min == pytest.approx(start)
    span = scanner.angle_increment * (len(scanner.rays.cells) - 1)
    assert span == pytest.approx(width)
    assert scanner.angle_increment <= GRID.resolution / math.hypot(40.0, 10.0)
    assert (scanner.range_min, scanner.range_max) == (0.0, pytest.approx(math.hypot(40.0, 10.0)))
    ahead = GridSpec(x_min=5.0, x_max=20.0, y_min=2.0, y_max=8.0, resolution=0.5)
    assert grid_reach(ahead) == pytest.approx((math.hypot(5.0, 2.0), math.hypot(20.0, 8.0)))
    assert seen_arc(GRID, np.array([], np.int64)) is None
    assert bearings(GRID, None)[2] == 0
    assert np.isnan(FreeSpaceScanner(GRID, np.array([], np.int64)).scan(ground(0)[0]).ranges).all()


def test_a_view_behind_wraps_around_pi_and_fine_grids_are_bounded() -> None:
    around = GridSpec(x_min=-20.0, x_max=20.0, y_min=-10.0, y_max=10.0, resolution=0.2)
    _, xs, ys = ground(DRIVABLE, around)
    rear = np.flatnonzero(((xs < -2.0) & (np.abs(ys) < -xs * math.tan(0.4))).ravel())
    start, width = seen_arc(around, rear)
    assert start == pytest.approx(math.pi - 0.4, abs=0.02)
    assert width == pytest.approx(0.8, abs=0.04)
    fine = GridSpec(x_min=-50.0, x_max=50.0, y_min=-50.0, y_max=50.0, resolution=0.05)
    assert bearings(fine, (-math.pi, 2 * math.pi))[2] == MAX_BEARINGS


def test_a_camera_sees_the_drivable_area_end_at_its_distance() -> None:
    """A pitched camera whose drivable mask ends at one image row: that row meets the ground
    on a line across x, so each bearing's range is that line's distance along it."""
    height, pitch, focal = 1.5, 0.2, 400.0
    camera = CameraIntrinsics(focal, focal, 319.5, 239.5, 640, 480)
    projector = GroundProjector(camera, CameraPose(z=height, pitch=pitch), GRID)
    drivable = np.zeros((480, 640), bool)
    drivable[300:] = True
    edge = height / math.tan(pitch + math.atan((299.5 - 239.5) / focal))
    scan = FreeSpaceScanner(GRID, projector.seen_cells).scan(projector.occupancy(drivable))
    angles = scan.angle_min + np.arange(len(scan.ranges)) * scan.angle_increment
    assert scan.angle_min == pytest.approx(-scan.angle_max, abs=scan.angle_increment)
    assert not np.isnan(scan.ranges).any()
    ahead = np.abs(angles) < 0.4
    assert ahead.sum() > 100
    x_hit = scan.ranges[ahead] * np.cos(angles[ahead])
    assert np.all(np.abs(x_hit - edge) <= GRID.resolution)


def test_free_space_is_built_as_a_laser_scan_in_grid_frame(frame, dashcam_frame) -> None:
    result, names = frame
    settings = OutputSettings(ground=GroundSettings(grid_frame="vehicle"))
    scan = build(RosbagsFactory(), settings, result, names, dashcam_frame)["free_space"]
    assert scan.header.frame_id == "vehicle"
    assert scan.header.stamp.sec * 1_000_000_000 + scan.header.stamp.nanosec == STAMP
    assert np.all(np.isposinf(scan.ranges))  # the test weights' road covers every pixel
    count = round((scan.angle_max - scan.angle_min) / scan.angle_increment) + 1
    assert count == len(scan.ranges) > 100 and scan.angle_min < 0 < scan.angle_max
    assert (scan.range_min, scan.range_max) == (0.0, pytest.approx(math.hypot(40.0, 10.0)))
    assert len(scan.intensities) == 0 and scan.time_increment == scan.scan_time == 0.0
    off = OutputSettings(publish_free_space=False)
    assert "free_space" not in build(RosbagsFactory(), off, result, names, dashcam_frame)
