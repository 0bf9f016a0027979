"""Lane lines as geometry: instances, fits and ego lane from ground points; lane metrics."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hybridnets_core.bag.drive import SyntheticDrive
from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.evaluation.lanes import LaneAccumulator, lateral_at
from hybridnets_core.scene.ground import CameraPose, GroundProjector
from hybridnets_core.scene.lanes import (
    EgoLane,
    LaneEstimate,
    LaneSettings,
    fit_lanes,
    lanes_from_mask,
)

DISTANCES = (10.0, 20.0, 30.0)
FOCAL, HEIGHT = 900.0, 1.5  # the virtual camera that samples synthetic line points


def line_points(
    rng: np.random.Generator,
    poly: tuple[float, float, float],
    dashes: tuple[float, float] | None = None,
    x_range: tuple[float, float] = (4.0, 60.0),
    width_px: int = 8,
    noise_m: float = 0.03,
) -> np.ndarray:
    """Ground points [N, 2] of a painted line y = c0 + c1 x + c2 x^2 as a camera samples it:
    one image row per FOCAL * HEIGHT / x, width_px pixels across, noise growing with range.

    dashes: (dash, gap) lengths in metres, or None for a solid line; a dash starts at 4 m.
    """
    offsets = np.arange(int(FOCAL * HEIGHT / x_range[1]), int(FOCAL * HEIGHT / x_range[0]))
    x = FOCAL * HEIGHT / offsets
    if dashes is not None:
        x = x[((x - 4.0) % (dashes[0] + dashes[1])) < dashes[0]]
    c0, c1, c2 = poly
    across = (np.arange(width_px) - (width_px - 1) / 2) / FOCAL
    xs = np.repeat(x, width_px)
    ys = c0 + xs * (c1 + xs * c2) + np.tile(across, x.size) * xs
    ys += rng.normal(0.0, noise_m * (1 + xs / 20), xs.size)
    return np.stack([xs, ys], axis=1)


def road(
    rng: np.random.Generator, lines: list[tuple[float, bool]], heading=0.01, curvature=1 / 500
) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """Points of parallel lines at lateral offsets (y at x = 0, dashed or not), and their polys."""
    polys = [(y0, heading, curvature / 2) for y0, _ in lines]
    points = [
        line_points(rng, poly, (3.0, 9.0) if dashed else None)
        for poly, (_, dashed) in zip(polys, lines)
    ]
    return np.concatenate(points), polys


def matches(line, poly, tolerance: float = 0.1) -> bool:
    """Whether a fitted line follows poly within tolerance at 10, 20 and 30 m."""
    x = np.array(DISTANCES)
    truth = poly[0] + x * (poly[1] + x * poly[2])
    return bool(np.all(np.abs(line.lateral_at(x) - truth) <= tolerance))


def test_two_lane_road_gives_one_instance_per_line_with_dashes_curve_noise_and_outliers() -> None:
    rng = np.random.default_rng(0)
    points, polys = road(rng, [(1.75, False), (-1.75, True), (-5.25, False)])
    outliers = np.stack([rng.uniform(4, 60, 300), rng.uniform(-10, 10, 300)], axis=1)
    estimate = fit_lanes(np.concatenate([points, outliers]))
    assert len(estimate.lines) == 3
    for line, poly in zip(estimate.lines, polys):  # left to right
        assert matches(line, poly)
        assert line.x_min < 5.0 and line.x_max > 50.0  # the dashes are one instance
        assert line.points.dtype == np.float32 and line.points.shape[1] == 3
        assert np.allclose(np.diff(line.points[:-1, 0]), 0.5) and np.all(line.points[:, 2] == 0)
    assert (estimate.left, estimate.right) == (0, 1)
    centre = estimate.ego.center
    x = centre[:, 0]
    expected = 0.01 * x + x * x / 1000  # midway between 1.75 and -1.75
    assert np.max(np.abs(centre[:, 1] - expected)[x <= 40]) < 0.1


@pytest.mark.parametrize("offset", [-1.0, 0.0, 1.0])
def test_ego_lane_is_picked_when_the_car_is_off_centre(offset: float) -> None:
    """The car `offset` m right (+) or left (-) of its lane's centre in a three-lane road."""
    rng = np.random.default_rng(1)
    lines = [(5.25 + offset, False), (1.75 + offset, True), (-1.75 + offset, True)]
    lines.append((-5.25 + offset, False))
    points, polys = road(rng, lines, heading=-0.02, curvature=-1 / 300)
    estimate = fit_lanes(points)
    assert len(estimate.lines) == 4
    assert (estimate.left, estimate.right) == (1, 2)
    assert matches(estimate.lines[estimate.left], polys[1])
    assert matches(estimate.lines[estimate.right], polys[2])


def test_single_visible_boundary_gives_no_centre_line() -> None:
    rng = np.random.default_rng(2)
    points, polys = road(rng, [(-1.7, False), (-5.2, True)])
    estimate = fit_lanes(points)
    assert estimate.left is None and estimate.ego.left is None and estimate.ego.center is None
    assert matches(estimate.lines[estimate.right], polys[0])
    assert estimate.ego.right is estimate.lines[estimate.right].points


def test_a_line_inside_the_lane_does_not_replace_a_boundary() -> None:
    """A road arrow or false positive near the car's path: the lane-width pair wins."""
    rng = np.random.default_rng(3)
    points, polys = road(rng, [(1.8, False), (-1.7, False)])
    arrow = line_points(rng, (0.4, 0.0, 0.0), x_range=(6.0, 14.0))
    estimate = fit_lanes(np.concatenate([points, arrow]))
    assert len(estimate.lines) == 3
    assert matches(estimate.lines[estimate.left], polys[0])
    assert matches(estimate.lines[estimate.right], polys[1])


def test_stop_line_speckle_and_blobs_are_no_lines() -> None:
    rng = np.random.default_rng(4)
    points, polys = road(rng, [(1.75, False), (-1.75, True)])
    stop = np.stack([rng.uniform(15.0, 15.4, 2000), rng.uniform(-6, 3, 2000)], axis=1)
    blob = rng.normal([9.0, 0.0], [0.3, 0.2], (400, 2))
    speckle = np.stack([rng.uniform(3, 60, 500), rng.uniform(-12, 12, 500)], axis=1)
    estimate = fit_lanes(np.concatenate([points, stop, blob, speckle]))
    assert len(estimate.lines) == 2
    assert all(matches(line, poly) for line, poly in zip(estimate.lines, polys))
    assert all(line.x_min < 5.0 and line.x_max > 50.0 for line in estimate.lines)


def test_line_hidden_over_a_long_stretch_is_rejoined() -> None:
    """A solid line occluded from 14 to 36 m (a truck beside us) stays one instance."""
    rng = np.random.default_rng(5)
    poly = (-1.8, 0.0, 1 / 800)
    near = line_points(rng, poly, x_range=(4.0, 14.0))
    far = line_points(rng, poly, x_range=(36.0, 60.0))
    left = line_points(rng, (1.7, 0.0, 1 / 800))
    estimate = fit_lanes(np.concatenate([near, far, left]))
    assert len(estimate.lines) == 2
    right = estimate.lines[estimate.right]
    assert right.x_min < 5 and right.x_max > 55 and matches(right, poly)


def test_empty_input_and_bad_input() -> None:
    assert fit_lanes(np.zeros((0, 3), np.float32)).lines == ()
    assert isinstance(fit_lanes(np.array([[np.nan, 1.0], [10.0, np.inf]])), LaneEstimate)
    with pytest.raises(InputError, match="shape"):
        fit_lanes(np.zeros((5, 4)))
    with pytest.raises(ConfigError, match="min_range_m"):
        LaneSettings(min_range_m=70.0)
    with pytest.raises(ConfigError, match="lane widths"):
        LaneSettings(lane_width_m=6.0)
    with pytest.raises(ConfigError, match="step_m"):
        LaneSettings(step_m=0.0)


@pytest.mark.parametrize("mask_size", [(1280, 720), (640, 360)])
def test_lane_mask_of_a_synthetic_drive_to_ego_lane_within_tolerance(mask_size) -> None:
    """True lane mask -> GroundProjector.ground_points -> fit: ego boundaries and centre within
    0.1 m of the true polylines at 10 and 20 m and 0.2 m at 30 m, where both reach.

    Typical errors are millimetres; the margin is for a vehicle hiding one stripe of a double
    line, which moves the seen line's middle by up to about 0.2 m near the vehicle.
    """
    settings = LaneSettings()
    tolerance = {10.0: 0.1, 20.0: 0.1, 30.0: 0.2}
    found = frames = compared = 0
    for seed in range(6):
        drive = SyntheticDrive(seed, (1280, 720), 10.0)
        intrinsics = drive.intrinsics.scaled_to(*mask_size)
        projector = GroundProjector(intrinsics, CameraPose(), settings.ground_grid())
        for index in (0, 30):
            scene, truth = drive.render_with_truth(index)
            mask = cv2.resize(scene.lane, mask_size, interpolation=cv2.INTER_NEAREST) > 0
            estimate = lanes_from_mask(projector, mask, settings)
            true_ego = truth.lanes.ego()
            frames += int(true_ego.left is not None and true_ego.right is not None)
            found += int(estimate.ego.left is not None and estimate.ego.right is not None)
            for part in ("left", "right", "center"):
                for x, limit in tolerance.items():
                    predicted = lateral_at(getattr(estimate.ego, part), x)
                    expected = lateral_at(getattr(true_ego, part), x)
                    if predicted is not None and expected is not None:
                        assert abs(predicted - expected) <= limit, (seed, index, part, x)
                        compared += 1
    assert frames >= 8 and found >= frames and compared >= 60


# --- metrics -----------------------------------------------------------------------------


def straight(y: float, x_max: float = 60.0) -> np.ndarray:
    """A polyline [M, 3] along x at lateral offset y."""
    x = np.arange(0.0, x_max + 0.25, 0.5)
    return np.stack([x, np.full_like(x, y), np.zeros_like(x)], axis=1)


TRUTH = EgoLane(left=straight(1.75), right=straight(-1.75), center=straight(0.0))


def test_lateral_at_interpolates_and_does_not_extrapolate() -> None:
    line = np.array([[5.0, 1.0, 0.0], [15.0, 2.0, 0.0]])
    assert lateral_at(line, 10.0) == pytest.approx(1.5)
    assert lateral_at(line, 4.9) is None and lateral_at(line, 15.1) is None
    assert lateral_at(None, 10.0) is None


def test_lane_metrics_on_hand_made_frames() -> None:
    acc = LaneAccumulator(tolerance_m=0.5)
    # frame 1: left 0.1 m off, right 0.2 m off, centre 0.05 m off -> found
    acc.update(EgoLane(straight(1.85), straight(-1.55), straight(0.05)), TRUTH)
    # frame 2: right boundary 0.7 m off and ending at 25 m (missed at 30 m) -> not found
    acc.update(EgoLane(straight(1.75), straight(-1.05, x_max=25.0), None), TRUTH)
    # frame 3: nothing predicted -> missed everywhere, not found
    acc.update(EgoLane(), TRUTH)
    # frame 4: the truth has no right boundary (unpainted): not an ego-lane frame
    acc.update(EgoLane(straight(1.75), None, None), EgoLane(straight(1.75), None, straight(0)))
    summary = acc.summary()
    # left errors at 10 m: 0.1, 0.0, 0.0; right: 0.2, 0.7 -> pooled median 0.1
    assert summary["lateral_error_m"]["10"] == pytest.approx(0.1)
    assert summary["lateral_error_by_side_m"]["right"]["10"] == pytest.approx(0.45)
    assert summary["lateral_error_by_side_m"]["right"]["30"] == pytest.approx(0.2)
    assert summary["center_lateral_error_m"]["10"] == pytest.approx(0.05)
    counts = summary["counts"]
    assert counts["frames"] == 4 and counts["ego_lane_frames"] == 3
    assert counts["ego_lane_found"] == 1
    assert summary["ego_lane_found_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert counts["boundary_samples"] == {"10": 5, "20": 5, "30": 4}
    assert counts["boundary_missed"] == {"10": 2, "20": 2, "30": 3}
    assert counts["center_samples"]["10"] == 1 and counts["center_missed"]["10"] == 3
    assert summary["distances_m"] == [10.0, 20.0, 30.0]


def test_lane_metrics_without_frames_and_bad_settings() -> None:
    summary = LaneAccumulator().summary()
    assert summary["ego_lane_found_rate"] is None
    assert summary["lateral_error_m"] == {"10": None, "20": None, "30": None}
    with pytest.raises(ConfigError, match="distances"):
        LaneAccumulator(distances=(0.0,))
    with pytest.raises(ConfigError, match="tolerance"):
        LaneAccumulator(tolerance_m=0.0)
