"""The surround grid: each cell from the nearest camera that sees it, checked cell by cell against
an explicit loop, and on the grids of real ground projections from a front and a rear camera."""

from __future__ import annotations

import math

import numpy as np
import pytest
from cuboids import CAM

from hybridnets_core.errors import InputError
from hybridnets_core.scene.ground import (
    DRIVABLE,
    NOT_DRIVABLE,
    UNSEEN,
    CameraPose,
    GridSpec,
    GroundProjector,
)
from hybridnets_core.scene.surround import SurroundGrid

SPEC = GridSpec(x_min=-10.0, x_max=10.0, y_min=-6.0, y_max=6.0, resolution=1.0)


def expected(grids: list[np.ndarray], positions: list[tuple[float, float]]) -> np.ndarray:
    """Cell by cell: the value of the nearest camera that sees the cell, else unseen."""
    xs, ys = SPEC.cell_centres()
    out = np.full(xs.shape, UNSEEN, dtype=np.int8)
    for row, col in np.ndindex(xs.shape):
        seen = [i for i, grid in enumerate(grids) if grid[row, col] != UNSEEN]
        if seen:
            cell = (xs[row, col], ys[row, col])
            best = min(seen, key=lambda i: math.dist(cell, positions[i]))
            out[row, col] = grids[best][row, col]
    return out


def test_each_cell_comes_from_the_nearest_camera_that_sees_it() -> None:
    xs, ys = SPEC.cell_centres()
    front = np.where(xs > -2.0, DRIVABLE, UNSEEN).astype(np.int8)  # sees x > -2, all drivable
    rear = np.where(xs < 3.0, NOT_DRIVABLE, UNSEEN).astype(np.int8)  # sees x < 3, all blocked
    side = np.where(ys > 4.0, NOT_DRIVABLE, UNSEEN).astype(np.int8)  # a strip on the left
    positions = [(5.0, 0.0), (-5.0, 0.0), (0.0, 1.0)]
    merged = SurroundGrid().merge([front, rear, side], positions, SPEC)
    np.testing.assert_array_equal(merged, expected([front, rear, side], positions))
    assert merged[6, 19] == DRIVABLE and merged[6, 0] == NOT_DRIVABLE
    assert merged[11, 11] == NOT_DRIVABLE  # (1.5, 5.5): the side camera is nearest
    assert merged[6, 11] == DRIVABLE  # (1.5, 0.5): the front camera is nearer than the rear


def test_a_cell_only_the_far_camera_sees_takes_its_value_and_none_stays_unseen() -> None:
    near = np.full((SPEC.height, SPEC.width), UNSEEN, dtype=np.int8)
    far = near.copy()
    far[0, 0], near[0, 1], far[0, 1] = NOT_DRIVABLE, DRIVABLE, NOT_DRIVABLE
    merged = SurroundGrid().merge([near, far], [(-9.0, -5.0), (9.0, 5.0)], SPEC)
    assert merged[0, 0] == NOT_DRIVABLE and merged[0, 1] == DRIVABLE
    assert (merged[1:] == UNSEEN).all() and (merged[0, 2:] == UNSEEN).all()


def test_the_cameras_order_follows_their_positions() -> None:
    surround = SurroundGrid()
    a = np.full((SPEC.height, SPEC.width), DRIVABLE, dtype=np.int8)
    b = np.full_like(a, NOT_DRIVABLE)
    assert (surround.merge([a, b], [(0.0, 0.0), (50.0, 0.0)], SPEC) == DRIVABLE).all()
    assert (surround.merge([a, b], [(50.0, 0.0), (0.0, 0.0)], SPEC) == NOT_DRIVABLE).all()


def test_front_and_rear_projections_cover_their_union() -> None:
    grid = GridSpec(x_min=-30.0, x_max=40.0, y_min=-10.0, y_max=10.0, resolution=0.25)
    poses = [CameraPose(x=2.0, y=0.0, z=1.6), CameraPose(x=-1.0, y=0.0, z=1.2, yaw=math.pi)]
    mask = np.ones((CAM.height, CAM.width), dtype=bool)
    grids = [GroundProjector(CAM, pose, grid).occupancy(mask) for pose in poses]
    merged = SurroundGrid().merge(grids, [(p.x, p.y) for p in poses], grid)
    seen = (grids[0] != UNSEEN) | (grids[1] != UNSEEN)
    assert all((g != UNSEEN).sum() < seen.sum() for g in grids)  # each adds cells of its own
    np.testing.assert_array_equal(merged != UNSEEN, seen)
    assert (merged[seen] == DRIVABLE).all()


def test_mismatched_grids_are_refused_in_one_line() -> None:
    surround = SurroundGrid()
    cells = np.zeros((SPEC.height, SPEC.width), dtype=np.int8)
    with pytest.raises(InputError, match="one position per camera grid"):
        surround.merge([cells, cells], [(0.0, 0.0)], SPEC)
    with pytest.raises(InputError, match="must all be"):
        surround.merge([cells, cells[:-1]], [(0.0, 0.0), (1.0, 0.0)], SPEC)
