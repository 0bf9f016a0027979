"""Inverse perspective mapping checked against closed-form flat-ground geometry."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.scene.ground import (
    DRIVABLE,
    NOT_DRIVABLE,
    UNSEEN,
    CachedProjector,
    CameraIntrinsics,
    CameraModel,
    CameraPose,
    GridSpec,
    GroundProjector,
    OpticalPose,
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


# --- camera models and poses -----------------------------------------------------------------


def pitched_optical_axes(pitch: float) -> np.ndarray:
    """Optical axes (columns x right, y down, z forward) of a camera pitched down by `pitch`."""
    s, c = math.sin(pitch), math.cos(pitch)
    return np.array([[0.0, -s, c], [-1.0, 0.0, 0.0], [0.0, -c, -s]])


def single_pixel_point(projector: GroundProjector, u: int, v: int) -> np.ndarray:
    """The ground point ground_points gives for the one pixel (u, v)."""
    mask = np.zeros(projector.image_shape, dtype=bool)
    mask[v, u] = True
    (point,) = projector.ground_points(mask)
    return point


def test_a_pixel_meets_the_ground_where_hand_geometry_says() -> None:
    u, v = 500, 400
    # Body-frame ray (1, -(u - cx)/fx, -(v - cy)/fy), pitched down by PITCH, from height HEIGHT.
    a, b, c = 1.0, -(u - CAM.cx) / CAM.fx, -(v - CAM.cy) / CAM.fy
    s, co = math.sin(PITCH), math.cos(PITCH)
    forward, down = a * co + c * s, a * s - c * co
    t = HEIGHT / down
    projector = GroundProjector(CAM, CameraPose(z=HEIGHT, pitch=PITCH), GRID)
    point = single_pixel_point(projector, u, v)
    np.testing.assert_allclose(point[:2], [t * forward, t * b], atol=1e-4)


def test_a_rectified_image_is_mapped_with_p_not_k() -> None:
    k = [400.0, 0.0, 319.5, 0.0, 400.0, 239.5, 0.0, 0.0, 1.0]
    p = [350.0, 0.0, 330.0, 0.0, 0.0, 360.0, 230.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    rectified = CameraModel.from_camera_info(k, p, [], "", W, H, rectified=True)
    pose = CameraPose(z=HEIGHT, pitch=PITCH)
    point = single_pixel_point(GroundProjector(rectified, pose, GRID), 330, 400)
    expected = HEIGHT / math.tan(PITCH + math.atan((400 - 230.0) / 360.0))
    assert point[0] == pytest.approx(expected, abs=1e-4)
    assert point[1] == pytest.approx(0.0, abs=1e-6)
    with_k = single_pixel_point(
        GroundProjector(CameraIntrinsics.from_k(k, W, H), pose, GRID), 330, 400
    )
    assert abs(with_k[0] - point[0]) > 0.1  # K would put it elsewhere


LENS_K = [400.0, 0.0, 319.5, 0.0, 400.0, 239.5, 0.0, 0.0, 1.0]
LENSES = {
    "plumb_bob": [-0.3, 0.09, 0.001, -0.001, 0.0],
    "rational_polynomial": [0.1, -0.02, 0.0005, 0.0002, 0.0, 0.3, -0.01, 0.0],
    "equidistant": [0.06, -0.02, 0.004, -0.001],
}


def raw_camera(model: str) -> CameraModel:
    return CameraModel.from_camera_info(LENS_K, [0.0] * 12, LENSES[model], model, W, H, False)


def opencv_pixels(model: str, optical: np.ndarray) -> np.ndarray:
    """OpenCV's forward lens model: pixels [N, 2] of optical-frame points [N, 3]."""
    k, d, zero = np.array(LENS_K).reshape(3, 3), np.array(LENSES[model]), np.zeros(3)
    if model == "equidistant":
        pixels, _ = cv2.fisheye.projectPoints(optical.reshape(-1, 1, 3), zero, zero, k, d)
    else:
        pixels, _ = cv2.projectPoints(optical, zero, zero, k, d)
    return pixels.reshape(-1, 2)


def opencv_project(model: str, ground: np.ndarray, pose: CameraPose) -> np.ndarray:
    """Pixels [N, 2] of ground points [N, 2] seen by a pitched camera through the lens."""
    rel = np.column_stack([ground - [pose.x, pose.y], np.full(len(ground), -pose.z)])
    return opencv_pixels(model, rel @ pitched_optical_axes(pose.pitch))  # vehicle -> optical


def ground_seen_at(model: str, pixels: np.ndarray, pose: CameraPose) -> np.ndarray:
    """Ground points [N, 2] that OpenCV's forward model puts exactly on `pixels` (Newton)."""
    normalised = (pixels - [LENS_K[2], LENS_K[5]]) / LENS_K[0]
    step = np.array([[1e-7, 0.0], [0.0, 1e-7]])
    for _ in range(20):

        def seen(xy: np.ndarray) -> np.ndarray:
            return opencv_pixels(model, np.column_stack([xy, np.ones(len(xy))]))

        residual = seen(normalised) - pixels
        jacobian = np.stack([(seen(normalised + h) - pixels - residual) / 1e-7 for h in step], 2)
        update = np.linalg.solve(jacobian, residual[..., None])[..., 0]
        size = np.linalg.norm(update, axis=1, keepdims=True)
        normalised = normalised - update * np.minimum(1.0, 0.05 / np.maximum(size, 1e-300))
    assert np.abs(seen(normalised) - pixels).max() < 1e-6
    rays = np.column_stack([normalised, np.ones(len(pixels))]) @ pitched_optical_axes(pose.pitch).T
    t = pose.z / -rays[:, 2]
    ground = np.column_stack([pose.x + t * rays[:, 0], pose.y + t * rays[:, 1]])
    assert np.abs(opencv_project(model, ground, pose) - pixels).max() < 1e-6
    return ground


@pytest.mark.parametrize("model", list(LENSES))
def test_a_distorted_pixel_maps_back_to_its_ground_point(model: str) -> None:
    pose = CameraPose(z=HEIGHT, pitch=PITCH)
    pixels = np.array([[20.0, 470.0], [600.0, 300.0], [319.0, 420.0], [80.0, 260.0]])
    truth = ground_seen_at(model, pixels, pose)
    grid = GridSpec(x_min=0.0, x_max=40.0, y_min=-20.0, y_max=20.0, resolution=0.1)
    projector = GroundProjector(raw_camera(model), pose, grid)
    for (u, v), expected in zip(pixels.astype(int), truth):
        point = single_pixel_point(projector, u, v)
        np.testing.assert_allclose(point[:2], expected, atol=1e-3)


@pytest.mark.parametrize("model", list(LENSES))
def test_grid_cells_sample_the_pixel_the_lens_puts_them_on(model: str) -> None:
    pose = CameraPose(z=HEIGHT, pitch=PITCH)
    mask = np.random.default_rng(2).random((H, W)) > 0.5
    grid = GroundProjector(raw_camera(model), pose, GRID).occupancy(mask)
    rows, cols = np.nonzero(grid != UNSEEN)
    centres = np.column_stack([cell_x(cols), GRID.y_min + (rows + 0.5) * GRID.resolution])
    pixels = np.floor(opencv_project(model, centres, pose) + 0.5).astype(int)
    sampled = mask[pixels[:, 1], pixels[:, 0]]
    np.testing.assert_array_equal(grid[rows, cols] == DRIVABLE, sampled)
    pinhole = GroundProjector(CameraIntrinsics.from_k(LENS_K, W, H), pose, GRID).occupancy(mask)
    assert np.mean(pinhole != grid) > 0.05  # the lens model matters


def test_cells_beyond_the_lens_range_are_not_folded_into_the_image() -> None:
    # r_d = r (1 - 0.35 r^2) rises up to r = 0.976 and folds back beyond it.
    lens = (-0.35, 0.0, 0.0, 0.0, 0.0)
    camera = CameraModel(CameraIntrinsics(500.0, 500.0, 319.5, 239.5, W, H), "plumb_bob", lens)
    pose = CameraPose(z=HEIGHT, pitch=0.6)
    wide = GridSpec(x_min=-5.0, x_max=15.0, y_min=-10.0, y_max=10.0, resolution=0.1)
    grid = GroundProjector(camera, pose, wide).occupancy(np.ones((H, W), dtype=bool))
    xs, ys = wide.cell_centres()
    rel = np.stack([xs.ravel(), ys.ravel(), np.full(xs.size, -HEIGHT)], axis=1)
    optical = rel @ pitched_optical_axes(0.6)
    front = optical[:, 2] > 0
    radius = np.full(xs.size, np.inf)
    radius[front] = np.hypot(optical[front, 0], optical[front, 1]) / optical[front, 2]
    folded = np.flatnonzero((radius > 1.05) & (radius < 1.6))
    pixels, _ = cv2.projectPoints(
        optical[folded], np.zeros(3), np.zeros(3), camera.intrinsics.matrix(), np.array(lens)
    )
    u, v = pixels.reshape(-1, 2).T
    inside = (u >= 0) & (u < W - 0.5) & (v >= 0) & (v < H - 0.5)
    assert inside.sum() > 100  # the bare forward polynomial puts these far cells in view
    seen = grid.ravel() != UNSEEN
    assert seen.any() and radius[seen].max() < 0.98


def test_an_optical_transform_of_a_level_camera_is_the_plain_camera_pose() -> None:
    # The usual camera_link -> camera_optical_frame rotation: rpy (-pi/2, 0, -pi/2).
    optical = OpticalPose.from_transform((0.0, 0.0, HEIGHT), (-0.5, 0.5, -0.5, 0.5))
    np.testing.assert_allclose(optical.rotation_matrix(), pitched_optical_axes(0.0), atol=1e-15)
    level = CameraPose(z=HEIGHT)
    np.testing.assert_allclose(
        optical.rotation_matrix(), level.optical_pose().rotation_matrix(), atol=1e-15
    )
    mask = np.zeros((H, W), dtype=bool)
    mask[300:] = True
    a = GroundProjector(CAM, optical, GRID)
    b = GroundProjector(CAM, level, GRID)
    np.testing.assert_array_equal(a.occupancy(mask), b.occupancy(mask))
    np.testing.assert_allclose(a.ground_points(mask), b.ground_points(mask), atol=1e-5)


def hamilton(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quaternion product p * q, both (x, y, z, w)."""
    (px, py, pz, pw), (qx, qy, qz, qw) = p, q
    return np.array(
        [
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
            pw * qw - px * qx - py * qy - pz * qz,
        ]
    )


OPTICAL_IN_BODY = np.array([-0.5, 0.5, -0.5, 0.5])


def test_a_pitched_camera_transform_looks_down_by_its_pitch() -> None:
    pitch = 0.3  # about +y of the body: looks down
    body = np.array([0.0, math.sin(pitch / 2), 0.0, math.cos(pitch / 2)])
    optical = OpticalPose.from_transform((1.0, 0.0, 2.0), hamilton(body, OPTICAL_IN_BODY))
    rotation = optical.rotation_matrix()
    np.testing.assert_allclose(rotation[:, 2], [math.cos(pitch), 0.0, -math.sin(pitch)], atol=1e-15)
    np.testing.assert_allclose(rotation, pitched_optical_axes(pitch), atol=1e-15)
    pose = optical.to_camera_pose()
    assert (pose.x, pose.z, pose.roll, pose.yaw) == pytest.approx((1.0, 2.0, 0.0, 0.0), abs=1e-12)
    assert pose.pitch == pytest.approx(pitch, abs=1e-12)
    # Its optical axis meets the ground 2 / tan(pitch) ahead of the camera.
    centred = CameraIntrinsics(F, F, 320.0, 240.0, W, H)
    point = single_pixel_point(GroundProjector(centred, optical, GRID), 320, 240)
    assert point[0] == pytest.approx(1.0 + 2.0 / math.tan(pitch), abs=1e-4)


def test_a_yawed_camera_transform_looks_to_its_left() -> None:
    yaw = math.radians(30)
    body = np.array([0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])
    optical = OpticalPose.from_transform((0.0, 0.0, HEIGHT), hamilton(body, OPTICAL_IN_BODY))
    rotation = optical.rotation_matrix()
    np.testing.assert_allclose(rotation[:, 2], [math.cos(yaw), math.sin(yaw), 0.0], atol=1e-15)
    np.testing.assert_allclose(rotation[:, 0], [math.sin(yaw), -math.cos(yaw), 0.0], atol=1e-15)
    assert optical.to_camera_pose().yaw == pytest.approx(yaw, abs=1e-12)


def test_camera_pose_transform_round_trip() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        roll, pitch, yaw = rng.uniform(-1.4, 1.4, 3)
        pose = CameraPose(*rng.normal(size=2), rng.uniform(0.2, 4.0), roll, pitch, yaw)
        translation, quaternion = pose.optical_pose().to_transform()
        assert quaternion[3] >= 0 and np.linalg.norm(quaternion) == pytest.approx(1.0)
        back = OpticalPose.from_transform(translation, quaternion).to_camera_pose()
        assert (back.x, back.y, back.z, back.roll, back.pitch, back.yaw) == pytest.approx(
            (pose.x, pose.y, pose.z, pose.roll, pose.pitch, pose.yaw), abs=1e-9
        )


def test_a_non_unit_quaternion_is_normalised() -> None:
    a = OpticalPose.from_transform((0.0, 0.0, 1.0), (-0.5, 0.5, -0.5, 0.5))
    b = OpticalPose.from_transform((0.0, 0.0, 1.0), (-1.0, 1.0, -1.0, 1.0))
    np.testing.assert_allclose(a.rotation_matrix(), b.rotation_matrix(), atol=1e-15)


@pytest.mark.parametrize(
    "build",
    [
        lambda: OpticalPose.from_transform((0.0, 0.0, 1.0), (0.0, 0.0, 0.0, 0.0)),
        lambda: OpticalPose.from_transform((0.0, 0.0, -0.5), (-0.5, 0.5, -0.5, 0.5)),
        lambda: OpticalPose.from_transform((0.0, float("nan"), 1.0), (-0.5, 0.5, -0.5, 0.5)),
        lambda: OpticalPose.from_transform((0.0, 1.0), (-0.5, 0.5, -0.5, 0.5)),
        lambda: OpticalPose((2.0, 0, 0, 0, 1, 0, 0, 0, 1), (0.0, 0.0, 1.0)),
        lambda: OpticalPose((1.0, 0, 0, 0, 1, 0, 0, 0, -1), (0.0, 0.0, 1.0)),  # a reflection
    ],
)
def test_unusable_transforms_are_config_errors(build) -> None:
    with pytest.raises(ConfigError):
        build()


def test_cache_rebuilds_only_when_the_calibration_changes() -> None:
    cache = CachedProjector()
    pose = CameraPose(z=HEIGHT, pitch=PITCH)
    transform = pose.optical_pose().to_transform()
    first, built = cache.get(CAM, (H, W), pose, GRID)
    assert built
    same, built = cache.get(CAM, (H, W), pose.optical_pose(), GRID)
    assert same is first and not built  # the same placement, as an optical pose
    cache.get(CAM, (H, W), OpticalPose.from_transform(*transform), GRID)  # TF: new floats
    builds = cache.builds
    for _ in range(3):  # the same transform looked up again each frame
        assert not cache.get(CAM, (H, W), OpticalPose.from_transform(*transform), GRID)[1]
    assert cache.builds == builds
    moved = OpticalPose.from_transform((0.0, 0.0, HEIGHT + 0.01), transform[1])
    assert cache.get(CAM, (H, W), moved, GRID)[1] and cache.builds == builds + 1
    assert not cache.get(CAM, (H, W), moved, GRID)[1]
    model = CameraModel(CAM, "plumb_bob", (-0.1, 0.0, 0.0, 0.0, 0.0))
    projector, built = cache.get(model, (H // 2, W // 2), moved, GRID)
    assert built and projector.camera == model.scaled_to(W // 2, H // 2)
    assert projector.image_shape == (H // 2, W // 2)
    assert not cache.get(model, (H // 2, W // 2), moved, GRID)[1]
