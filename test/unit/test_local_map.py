"""The local map in odom (scene/local_map.py) and the ego poses it is placed with
(scene/ego_motion.py): closed-form drives, log-odds, decay, object footprints, the window
following the vehicle, settings errors, odometry interpolation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.outputs import messages
from hybridnets_core.outputs.settings import GroundSettings, OutputSettings
from hybridnets_core.scene.camera import CameraIntrinsics
from hybridnets_core.scene.ego_motion import EgoPose, PoseHistory, wrap_angle
from hybridnets_core.scene.ground import (
    DRIVABLE,
    NOT_DRIVABLE,
    UNSEEN,
    CameraPose,
    GridSpec,
    GroundProjector,
    PinholeParameters,
)
from hybridnets_core.scene.local_map import LocalMap, LocalMapSettings, object_footprints
from hybridnets_core.scene.objects import GroundObjects, ObjectStatus
from hybridnets_core.serving.session import CameraSession
from hybridnets_core.settings import rebuild

GRID = GridSpec(x_min=0.0, x_max=20.0, y_min=-5.0, y_max=5.0, resolution=0.2)
S = 1_000_000_000  # ns per second
STILL = EgoPose(0.0, 0.0, 0.0)


def settings(**values: float) -> LocalMapSettings:
    """Map settings for closed-form cases: no decay unless asked, room to drive."""
    return LocalMapSettings(**{"size_m": 100.0, "recentre_m": 20.0, "decay_per_s": 0.0, **values})


def grid_with(value: int, x: tuple[float, float], y: tuple[float, float]) -> np.ndarray:
    """A ground grid on GRID, unseen but for the cells with centres in x x y set to `value`."""
    xs, ys = GRID.cell_centres()
    grid = np.full((GRID.height, GRID.width), UNSEEN, np.int8)
    grid[(xs >= x[0]) & (xs < x[1]) & (ys >= y[0]) & (ys < y[1])] = value
    return grid


def unseen() -> np.ndarray:
    return np.full((GRID.height, GRID.width), UNSEEN, np.int8)


def map_cells(fused: LocalMap, x: tuple[float, float], y: tuple[float, float]) -> np.ndarray:
    """bool [cells, cells]: map cells whose centre (odom) lies in x x y."""
    window = fused.window
    centres = (np.arange(window.cells) + 0.5) * window.resolution
    xs, ys = np.meshgrid(window.x_min + centres, window.y_min + centres)
    return (xs >= x[0]) & (xs < x[1]) & (ys >= y[0]) & (ys < y[1])


def test_a_strip_seen_stays_in_odom_as_the_vehicle_drives_and_turns() -> None:
    fused = LocalMap(settings())
    fused.fuse(STILL, 0, grid_with(DRIVABLE, (4.0, 8.0), (-1.0, 1.0)), GRID)
    # 10 m ahead, turned 90 deg left: the strip it now sees 4-8 m ahead and 1 m either side
    # lies at odom x in [9, 11], y in [4, 8]
    turned = EgoPose(10.0, 0.0, math.pi / 2)
    fused.fuse(turned, S, grid_with(NOT_DRIVABLE, (4.0, 8.0), (-1.0, 1.0)), GRID)
    first = map_cells(fused, (4.0, 8.0), (-1.0, 1.0))
    second = map_cells(fused, (9.0, 11.0), (4.0, 8.0))
    assert first.sum() == second.sum() == 20 * 10  # 4 m x 2 m of 0.2 m cells
    np.testing.assert_allclose(fused.log_odds[first], -0.4, rtol=1e-6)
    np.testing.assert_allclose(fused.log_odds[second], 0.85, rtol=1e-6)
    assert np.count_nonzero(fused.log_odds) == 400
    values = fused.occupancy()
    assert set(values[first]) == {round(100 / (1 + math.exp(0.4)))}  # 40: likely drivable
    assert set(values[second]) == {round(100 / (1 + math.exp(-0.85)))}  # 70
    assert set(values[~(first | second)]) == {-1}


def test_log_odds_accumulate_and_clamp() -> None:
    fused = LocalMap(settings(clamp_log_odds=3.5))
    blocked = grid_with(NOT_DRIVABLE, (2.0, 3.0), (0.0, 1.0))
    free = grid_with(DRIVABLE, (5.0, 6.0), (0.0, 1.0))
    cells_blocked = map_cells_after(fused, blocked)
    expected = []
    for _ in range(5):
        fused.fuse(STILL, 0, blocked, GRID)
        fused.fuse(STILL, 0, free, GRID)
        expected.append(float(fused.log_odds[cells_blocked][0]))
    assert expected == pytest.approx([0.85, 1.7, 2.55, 3.4, 3.5])
    for _ in range(4):
        fused.fuse(STILL, 0, free, GRID)
    cells_free = map_cells(fused, (5.0, 6.0), (0.0, 1.0))
    assert fused.log_odds[cells_free] == pytest.approx(-3.5)  # 9 x -0.4, clamped
    assert set(fused.occupancy()[cells_blocked]) == {round(100 / (1 + math.exp(-3.5)))}
    assert set(fused.occupancy()[cells_free]) == {round(100 / (1 + math.exp(3.5)))}


def map_cells_after(fused: LocalMap, grid: np.ndarray) -> np.ndarray:
    """The map cells one frame of `grid` from STILL observes (fused into a scratch copy)."""
    scratch = LocalMap(fused.settings)
    scratch.fuse(STILL, 0, grid, GRID)
    return scratch.log_odds != 0


def test_unseen_cells_decay_back_to_unknown_and_seen_ones_do_not() -> None:
    fused = LocalMap(settings(decay_per_s=0.5))
    old = grid_with(DRIVABLE, (2.0, 4.0), (0.0, 1.0))
    for _ in range(5):
        fused.fuse(STILL, 0, old, GRID)  # -2.0
    faded = map_cells(fused, (2.0, 4.0), (0.0, 1.0))
    still_seen = grid_with(NOT_DRIVABLE, (10.0, 11.0), (0.0, 1.0))
    fused.fuse(STILL, 0, still_seen, GRID)
    kept = map_cells(fused, (10.0, 11.0), (0.0, 1.0))
    fused.fuse(STILL, 3 * S, still_seen, GRID)
    assert fused.log_odds[faded] == pytest.approx(-0.5)  # 2.0 - 3 s x 0.5
    assert fused.log_odds[kept] == pytest.approx(1.7)  # seen at 3 s: no decay
    fused.fuse(STILL, 2 * S, unseen(), GRID)  # an older frame (another camera): no decay
    assert fused.log_odds[faded] == pytest.approx(-0.5)
    fused.fuse(STILL, 4 * S, still_seen, GRID)
    assert np.all(fused.log_odds[faded] == 0)
    assert set(fused.occupancy()[faded]) == {-1}
    assert fused.stamp_ns == 4 * S


def objects_at(x: float, y: float, bearing: float, length: float, width: float) -> GroundObjects:
    """One located object (contact point x, y) and one that was not located."""
    return GroundObjects(
        status=np.array([ObjectStatus.OK, ObjectStatus.CUT_AT_BOTTOM]),
        position=np.array([[x, y], [np.nan, np.nan]]),
        range=np.array([math.hypot(x, y), np.nan]),
        bearing=np.array([bearing, np.nan]),
        covariance=np.full((2, 2, 2), 0.01),
        bias_covariance=np.zeros((2, 2, 2)),
        size=np.array([[length, width, 1.5], [np.nan, np.nan, np.nan]]),
        # the middle, half the length behind the near face along the line of sight
        centre=np.array(
            [[x + math.cos(bearing) * length / 2, y + math.sin(bearing) * length / 2], [np.nan] * 2]
        ),
    )


def test_cells_under_a_located_vehicle_never_turn_drivable() -> None:
    fused = LocalMap(settings())
    everywhere = np.full((GRID.height, GRID.width), DRIVABLE, np.int8)  # the mask runs under it
    car = objects_at(10.0, 0.0, 0.0, 4.4, 1.6)  # cell edges: no centre on its border
    assert object_footprints(car) == pytest.approx(np.array([[12.2, 0.0, 0.0, 4.4, 1.6]]))
    for _ in range(10):
        fused.fuse(STILL, 0, everywhere, GRID, car)
    under = map_cells(fused, (10.0, 14.4), (-0.8, 0.8))
    assert under.sum() == 22 * 8
    assert np.all(fused.log_odds[under] == pytest.approx(3.5))
    seen = map_cells(fused, (0.0, 20.0), (-5.0, 5.0))
    assert np.all(fused.log_odds[seen & ~under] == pytest.approx(-3.5))
    # a turned footprint: a car 45 deg to the left, its centre 2.25 m past the contact point
    turned = LocalMap(settings())
    turned.fuse(STILL, 0, everywhere, GRID, objects_at(5.0, 0.0, math.pi / 4, 4.5, 1.8))
    centre = 5.0 + 2.25 / math.sqrt(2)  # on the diagonal x = 5 + y
    window = turned.window
    col = math.floor((centre - window.x_min) / 0.2)
    row = math.floor((centre - 5.0 - window.y_min) / 0.2)
    assert turned.log_odds[row, col] > 0  # the footprint's centre
    assert turned.log_odds[row - 8, col + 8] < 0  # 1.6 m to its right and ahead: beside it


def test_the_window_follows_the_vehicle_and_keeps_its_data() -> None:
    fused = LocalMap(settings(recentre_m=10.0))
    fused.fuse(STILL, 0, grid_with(NOT_DRIVABLE, (4.0, 8.0), (-1.0, 1.0)), GRID)
    start = fused.window
    assert (start.x_min, start.y_min, start.cells) == (pytest.approx(-50.0), -50.0, 500)
    fused.fuse(EgoPose(9.9, 0.0, 0.0), S, unseen(), GRID)
    assert fused.window == start  # within recentre_m of the centre: stays
    fused.fuse(EgoPose(15.05, -3.0, 0.0), 2 * S, unseen(), GRID)
    moved = fused.window
    assert (moved.x_min, moved.y_min) == (pytest.approx(15.0 - 50.0), pytest.approx(-53.0))
    strip = map_cells(fused, (4.0, 8.0), (-1.0, 1.0))
    assert strip.sum() == 200 and np.all(fused.log_odds[strip] == pytest.approx(0.85))
    assert np.count_nonzero(fused.log_odds) == 200
    fused.fuse(EgoPose(500.0, 0.0, 0.0), 3 * S, unseen(), GRID)  # past the whole window
    assert not np.any(fused.log_odds)


def test_the_map_as_an_occupancy_grid_message() -> None:
    fused = LocalMap(settings(size_m=10.0, recentre_m=2.0, resolution=0.5))
    factory = RosbagsFactory()
    header = messages.header(factory, 5, "odom")
    assert messages.local_map(factory, fused, header) is None  # not placed yet
    fused.fuse(EgoPose(100.0, 20.0, 0.0), 5, grid_with(DRIVABLE, (0.0, 2.0), (-1.0, 1.0)), GRID)
    message = messages.local_map(factory, fused, header)
    info = message.info
    assert (info.width, info.height, info.resolution) == (20, 20, 0.5)
    assert (info.origin.position.x, info.origin.position.y) == (95.0, 15.0)
    assert message.header.frame_id == "odom"
    np.testing.assert_array_equal(np.asarray(message.data), fused.occupancy().ravel())
    assert np.count_nonzero(np.asarray(message.data) == 40) == 4 * 4  # 2 m x 2 m at 0.5 m


def test_a_grid_that_does_not_match_its_spec_is_refused() -> None:
    with pytest.raises(InputError, match="does not match"):
        LocalMap(settings()).fuse(STILL, 0, np.zeros((3, 3), np.int8), GRID)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"resolution": -0.2}, "resolution must be within"),
        ({"size_m": 2000.0, "resolution": 0.5}, "too large"),
        ({"size_m": 100.0, "recentre_m": 50.0}, "recentre_m"),
        ({"decay_per_s": float("nan")}, "must be finite"),
    ],
)
def test_bad_settings_give_one_line(values: dict[str, float], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as error:
        rebuild(LocalMapSettings, values)
    assert "\n" not in str(error.value)


def test_poses_are_interpolated_to_the_image_stamp() -> None:
    history = PoseHistory(round(0.1 * S))
    assert history.at(0) is None
    history.add(0, EgoPose(0.0, 0.0, 0.0))
    history.add(S // 10, EgoPose(1.0, 2.0, 0.2))
    middle = history.at(S // 20)
    assert (middle.x, middle.y, middle.yaw) == pytest.approx((0.5, 1.0, 0.1))
    assert history.at(S // 10) == EgoPose(1.0, 2.0, 0.2)  # exactly a sample
    assert history.at(S // 10 + S // 20) == EgoPose(1.0, 2.0, 0.2)  # past the end: held
    assert history.at(S // 10 + S // 5) is None  # beyond the tolerance
    assert history.at(-S // 5) is None


def test_yaw_is_interpolated_the_short_way_across_pi() -> None:
    history = PoseHistory(round(0.1 * S))
    history.add(0, EgoPose(0.0, 0.0, 3.0))
    history.add(S // 10, EgoPose(0.0, 0.0, -3.0))
    assert abs(history.at(S // 20).yaw) == pytest.approx(math.pi)
    quarter = 3.0 + 0.25 * (2 * math.pi - 6.0)
    assert history.at(S // 40).yaw == pytest.approx(quarter)
    assert history.at(3 * S // 40).yaw == pytest.approx(-quarter)
    assert wrap_angle(3 * math.pi) == pytest.approx(-math.pi)


def test_a_sparse_history_holds_only_within_the_tolerance() -> None:
    history = PoseHistory(round(0.1 * S))
    history.add(0, EgoPose(0.0, 0.0, 0.0))
    history.add(S, EgoPose(10.0, 0.0, 0.0))
    assert history.at(S // 20) == EgoPose(0.0, 0.0, 0.0)  # the nearer end, not a half-second
    assert history.at(S // 2) is None  # both samples too far to interpolate from


def test_ego_pose_of_a_transform() -> None:
    half = 0.5
    pose = EgoPose.from_transform((3.0, -2.0, 0.4), (0.0, 0.0, math.sin(half), math.cos(half)))
    assert (pose.x, pose.y, pose.yaw) == pytest.approx((3.0, -2.0, 1.0))
    x, y = pose.to_odom(np.array([1.0]), np.array([0.0]))
    assert (x[0], y[0]) == pytest.approx((3.0 + math.cos(1.0), -2.0 + math.sin(1.0)))
    back = pose.to_grid(x, y)
    assert (back[0][0], back[1][0]) == pytest.approx((1.0, 0.0))
    with pytest.raises(InputError, match="quaternion"):
        EgoPose.from_transform((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0))
    with pytest.raises(ConfigError, match="capacity"):
        PoseHistory(0, capacity=1)


def test_a_camera_session_gives_its_ground_grid_for_the_map(small_checkpoint: Path) -> None:
    """`ground_grid=True` places the frame's ground grid though no ground output is wanted; it
    is the grid ~/grid would publish, and the map takes it."""
    pipeline = Pipeline.from_weights(small_checkpoint)
    pinhole = PinholeParameters(fx=300.0, fy=300.0, cx=159.5, cy=119.5)
    ground = GroundSettings(grid=GRID, intrinsics=pinhole, camera=CameraPose(pitch=0.2))
    session = CameraSession(RosbagsFactory(), OutputSettings(ground=ground), ["car", "truck"])
    pixels = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    header = messages.header(RosbagsFactory(), S, "camera")
    image = session.decode(messages.image(RosbagsFactory(), pixels, "bgr8", header))
    result = pipeline.run_batch([image.pixels], image.color)[0]
    plain = session.process(result, image, {"detections"})
    assert plain.occupancy is None and plain.grid is None
    made = session.process(result, image, {"detections"}, ground_grid=True)
    assert "grid" not in made.messages and made.grid == GRID
    camera = CameraIntrinsics(300.0, 300.0, 159.5, 119.5, 320, 240)
    expected = GroundProjector(camera, CameraPose(pitch=0.2), GRID).occupancy(result.drivable)
    np.testing.assert_array_equal(made.occupancy, expected)
    fused = LocalMap(settings())
    fused.fuse(STILL, made.stamp, made.occupancy, made.grid, made.scene.objects)
    assert np.count_nonzero(fused.log_odds) > 0
