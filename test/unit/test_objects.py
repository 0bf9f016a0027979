"""Objects on the ground checked against closed-form flat-ground geometry and error propagation."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.scene.camera import CameraIntrinsics, CameraModel
from hybridnets_core.scene.ground import CameraPose, GridSpec
from hybridnets_core.scene.objects import ObjectSettings, ObjectStatus, locate_objects

W, H, F = 1280, 720, 1000.0
CAM = CameraIntrinsics(F, F, (W - 1) / 2, (H - 1) / 2, W, H)
HEIGHT = 1.5
GRID = GridSpec(x_min=-50.0, x_max=80.0, y_min=-40.0, y_max=40.0, resolution=0.5)
NAMES = ["car", "person", "drone"]


def box_on(u: float, v: float, width_px: float = 40.0) -> list[float]:
    """An edge-convention box whose bottom-centre contact pixel (centre convention) is (u, v)."""
    return [u + 0.5 - width_px / 2, v - 60.0, u + 0.5 + width_px / 2, v + 0.5]


def hand_ground_point(u: float, v: float, pose: CameraPose, cam: CameraIntrinsics = CAM):
    """Ground point of pixel (u, v): the body ray, pitched, then yawed, from the camera."""
    a, b, c = 1.0, -(u - cam.cx) / cam.fx, -(v - cam.cy) / cam.fy
    sp, cp = math.sin(pose.pitch), math.cos(pose.pitch)
    x, y, z = a * cp + c * sp, b, -a * sp + c * cp
    sy, cy = math.sin(pose.yaw), math.cos(pose.yaw)
    x, y = x * cy - y * sy, x * sy + y * cy
    t = pose.z / -z
    return pose.x + t * x, pose.y + t * y


def locate(boxes, pose=CameraPose(z=HEIGHT), camera=CAM, ids=None, settings=None):
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    ids = np.zeros(len(boxes), dtype=int) if ids is None else np.asarray(ids)
    return locate_objects(boxes, ids, NAMES, camera, pose, GRID, settings)


def test_contact_point_of_a_level_camera_is_h_f_over_rows_below_centre() -> None:
    rows_below = np.array([150.0, 75.0, 30.0])  # r = h f / (v - cy): 10, 20, 50 m
    boxes = [box_on(CAM.cx, CAM.cy + d) for d in rows_below]
    found = locate(boxes)
    assert found.valid.all()
    np.testing.assert_allclose(found.range, HEIGHT * F / rows_below, rtol=1e-12)
    np.testing.assert_allclose(found.position[:, 1], 0.0, atol=1e-12)
    np.testing.assert_allclose(found.bearing, 0.0, atol=1e-12)


def test_pitch_yaw_and_offset_place_the_contact_point_by_hand_geometry() -> None:
    pose = CameraPose(x=1.0, y=-0.5, z=1.4, pitch=0.1, yaw=0.3)
    pixels = [(400.0, 500.0), (900.0, 420.0), (100.0, 650.0)]
    found = locate([box_on(u, v) for u, v in pixels], pose)
    assert found.valid.all()
    expected = np.array([hand_ground_point(u, v, pose) for u, v in pixels])
    np.testing.assert_allclose(found.position, expected, atol=1e-9)
    offset = expected - [pose.x, pose.y]
    np.testing.assert_allclose(found.range, np.hypot(*offset.T), atol=1e-9)
    np.testing.assert_allclose(found.bearing, np.arctan2(offset[:, 1], offset[:, 0]), atol=1e-9)
    via_transform = locate([box_on(u, v) for u, v in pixels], pose.optical_pose())
    np.testing.assert_allclose(via_transform.position, found.position, atol=1e-12)


def test_each_status_case_has_no_position() -> None:
    boxes = [
        box_on(CAM.cx, CAM.cy + 75.0),  # 20 m ahead
        [600.0, 400.0, 700.0, H],  # bottom edge in the image's last row: cut
        [600.0, 400.0, 700.0, H - 1.5],  # within the 2 px margin: cut
        box_on(CAM.cx, CAM.cy - 10.0),  # above the horizon
        box_on(CAM.cx, CAM.cy),  # on the horizon
        box_on(CAM.cx, CAM.cy + 10.0),  # 150 m ahead: beyond x_max = 80
        box_on(25.0, CAM.cy + 12.0, 20.0),  # 125 m ahead, to the left: outside the grid
        [7.5, 400.0, 200.0, 500.0],  # left edge within the 8 px side margin: cut at the side
        [W - 300.0, 400.0, W - 8.0, 500.0],  # right edge within it
        [0.0, 400.0, 200.0, H],  # cut at the bottom and the side: the bottom comes first
    ]
    found = locate(boxes)
    expected = [ObjectStatus.OK, ObjectStatus.CUT_AT_BOTTOM, ObjectStatus.CUT_AT_BOTTOM]
    expected += [ObjectStatus.ABOVE_HORIZON] * 2 + [ObjectStatus.OUTSIDE_GRID] * 2
    expected += [ObjectStatus.CUT_AT_SIDE] * 2 + [ObjectStatus.CUT_AT_BOTTOM]
    assert found.status.tolist() == expected
    assert found.valid.tolist() == [True] + [False] * 9
    for values in (found.position, found.range, found.bearing, found.covariance, found.size):
        assert np.isfinite(values[0]).all() and np.isnan(values[1:]).all()


def test_a_point_beside_the_grid_is_outside_it() -> None:
    looking_left = CameraPose(z=HEIGHT, yaw=math.pi / 2)
    found = locate([box_on(CAM.cx, CAM.cy + HEIGHT * F / 45.0)], looking_left)  # y = 45 m
    assert found.status.tolist() == [ObjectStatus.OUTSIDE_GRID]
    inside = locate([box_on(CAM.cx, CAM.cy + HEIGHT * F / 35.0)], looking_left)
    np.testing.assert_allclose(inside.position, [[0.0, 35.0]], atol=1e-9)


def test_covariance_matches_the_level_camera_closed_form() -> None:
    settings = ObjectSettings(sigma_u_px=1.5, sigma_v_px=2.0, sigma_pitch_rad=0.01)
    rows_below = np.array([300.0, 150.0, 75.0, 40.0, 25.0])
    found = locate([box_on(CAM.cx, CAM.cy + d) for d in rows_below], settings=settings)
    r = HEIGHT * F / rows_below
    var_range = (r**2 / (HEIGHT * F) * 2.0) ** 2 + ((r**2 + HEIGHT**2) / HEIGHT * 0.01) ** 2
    var_lateral = (r * 1.5 / F) ** 2
    np.testing.assert_allclose(found.covariance[:, 0, 0], var_range, rtol=1e-4)
    np.testing.assert_allclose(found.covariance[:, 1, 1], var_lateral, rtol=1e-4)
    np.testing.assert_allclose(found.covariance[:, 0, 1], 0.0, atol=1e-9)
    var_tilt = ((r**2 + HEIGHT**2) / HEIGHT * 0.01) ** 2  # the persistent part
    np.testing.assert_allclose(found.bias_covariance[:, 0, 0], var_tilt, rtol=1e-4)
    np.testing.assert_allclose(found.bias_covariance[:, 1, 1], 0.0, atol=1e-12)
    assert np.all(np.diff(found.covariance[:, 0, 0]) > 0)  # grows with range
    assert np.all(np.diff(found.covariance[:, 1, 1]) > 0)


def test_tilt_error_stretches_the_covariance_along_the_line_of_sight() -> None:
    settings = ObjectSettings(sigma_u_px=0.0, sigma_v_px=0.0, sigma_pitch_rad=0.02)
    pose = CameraPose(x=0.5, y=1.0, z=2.0, pitch=0.05, yaw=-0.4)
    found = locate([box_on(300.0, 500.0), box_on(1000.0, 450.0)], pose, settings=settings)
    for cov, r, bearing in zip(found.covariance, found.range, found.bearing):
        along = np.array([math.cos(bearing), math.sin(bearing)])
        k = (r**2 + 2.0**2) / 2.0
        np.testing.assert_allclose(cov, 0.02**2 * k**2 * np.outer(along, along), rtol=1e-9)
    # all of it persists over frames: a tracker gets only the 1 mm floor as fresh noise
    np.testing.assert_allclose(found.bias_covariance, found.covariance, rtol=1e-12)
    np.testing.assert_allclose(found.noise_covariance, np.tile(1e-6 * np.eye(2), (2, 1, 1)))


def test_pixel_errors_grow_with_range_for_a_pitched_yawed_camera() -> None:
    pose = CameraPose(x=1.0, y=0.0, z=1.6, pitch=0.08, yaw=0.2)
    boxes = [box_on(700.0, v) for v in (700.0, 600.0, 500.0, 450.0, 420.0)]
    found = locate(boxes, pose)
    assert found.valid.all() and np.all(np.diff(found.range) > 0)
    assert np.all(np.diff(np.linalg.det(found.covariance)) > 0)
    assert np.all(np.linalg.eigvalsh(found.covariance) > 0)


def test_width_comes_from_the_box_at_that_range_and_height_from_the_class() -> None:
    boxes = [box_on(CAM.cx, CAM.cy + 75.0, 80.0)] * 3  # 20 m ahead, 80 px wide
    found = locate(boxes, ids=[0, 1, 2])
    np.testing.assert_allclose(found.size[:, 1], 20.0 * 80.0 / F, rtol=1e-12)
    settings = ObjectSettings()
    assert found.size[:, 2].tolist() == [1.5, 1.7, settings.default_height_m]  # car, person, ?
    assert found.size[:, 0].tolist() == [4.5, 0.5, settings.default_length_m]


def seen_from_level_camera(lateral: float, near: float, width: float, length: float):
    """Edge-convention box of a cuboid (near face at x = near, centre line y = lateral) seen by
    the level camera CAM at HEIGHT: its near face and, off to the side, the side facing it."""
    corners = [(near, lateral + width / 2), (near, lateral - width / 2)]
    corners += [(near + length, lateral + width / 2), (near + length, lateral - width / 2)]
    columns = [CAM.cx - F * y / x for x, y in corners]
    return [min(columns) + 0.5, CAM.cy - 50.0, max(columns) + 0.5, CAM.cy + F * HEIGHT / near + 0.5]


@pytest.mark.parametrize("lateral", [4.0, -3.5, 5.0])
def test_an_object_off_to_the_side_is_placed_under_its_near_face(lateral: float) -> None:
    # car prior 1.8 m wide; the box also spans the side face, which the bottom centre would
    # wrongly take as part of the object's width
    box = seen_from_level_camera(lateral, 10.0, 1.8, 4.5)
    found = locate([box])
    np.testing.assert_allclose(found.position, [[10.0, lateral]], atol=1e-9)
    bottom_centre = (box[0] + box[2]) / 2 - 0.5
    assert abs(-(bottom_centre - CAM.cx) * 10.0 / F) < abs(lateral) - 0.2  # the old bias


def test_the_near_face_uses_the_class_width_prior() -> None:
    # a person-sized prior (0.6 m) placed at a box drawn for a 1.8 m wide object lands 0.6 m
    # further out: the outer edge minus half of 0.6 m instead of half of 1.8 m
    box = seen_from_level_camera(4.0, 10.0, 1.8, 4.5)
    found = locate([box] * 3, ids=[0, 1, 2])
    expected_y = [4.0, 4.0 + 0.9 - 0.3, 4.0 + 0.9 - ObjectSettings().default_width_m / 2]
    np.testing.assert_allclose(found.position[:, 1], expected_y, atol=1e-9)


def test_an_object_straddling_the_axis_is_placed_at_its_bottom_centre() -> None:
    box = seen_from_level_camera(0.4, 12.0, 2.5, 8.0)  # only the near face shows
    found = locate([box])  # wider than the car prior, yet on both sides of the camera
    np.testing.assert_allclose(found.position, [[12.0, 0.4]], atol=1e-9)


def test_box_width_for_a_yawed_camera_is_measured_across_the_line_of_sight() -> None:
    pose = CameraPose(z=HEIGHT, yaw=0.5)
    found = locate([box_on(CAM.cx, CAM.cy + 75.0, 80.0)], pose)
    np.testing.assert_allclose(found.size[0, 1], 20.0 * 80.0 / F, rtol=1e-12)
    assert found.bearing[0] == pytest.approx(0.5, abs=1e-12)


def test_a_corner_without_a_ray_falls_back_to_the_angular_width() -> None:
    # r_d = r (1 - 0.5 r^2) tops out at 0.544: a corner at 0.6 focal lengths has no ray.
    lens = CameraModel(
        CameraIntrinsics(500.0, 500.0, 639.5, 359.5, W, H), "plumb_bob", (-0.5,) + (0.0,) * 4
    )
    box = [639.5 + 0.5 - 100.0, 300.0, 639.5 + 0.5 + 300.0, 359.5 + 50.0 + 0.5]
    found = locate([box], camera=lens)
    assert found.valid.all()
    distance = math.hypot(found.range[0], HEIGHT)
    assert found.size[0, 1] == pytest.approx(distance * 400.0 / 500.0, rel=1e-12)


LENS_K = [F, 0.0, CAM.cx, 0.0, F, CAM.cy, 0.0, 0.0, 1.0]
P = [850.0, 0.0, 620.0, 0.0, 0.0, 850.0, 370.0, 0.0, 0.0, 0.0, 1.0, 0.0]
LENSES = {
    "plumb_bob": [-0.25, 0.06, 0.0008, -0.0006, 0.0],
    "equidistant": [0.04, -0.01, 0.002, -0.0005],
}


@pytest.mark.parametrize("model", list(LENSES))
def test_raw_distorted_image_places_objects_like_the_rectified_one(model: str) -> None:
    pose = CameraPose(x=0.3, y=0.1, z=HEIGHT, pitch=0.04, yaw=0.1)
    ground = np.array([[8.0, 2.0], [15.0, -4.0], [30.0, 3.0], [12.0, 5.0]])
    rel = np.column_stack([ground - [pose.x, pose.y], np.full(len(ground), -pose.z)])
    optical = rel @ pose.optical_pose().rotation_matrix()  # grid_frame -> optical, row-wise
    k, d, zero = np.array(LENS_K).reshape(3, 3), np.array(LENSES[model]), np.zeros(3)
    if model == "equidistant":
        raw_px, _ = cv2.fisheye.projectPoints(optical.reshape(-1, 1, 3), zero, zero, k, d)
    else:
        raw_px, _ = cv2.projectPoints(optical, zero, zero, k, d)
    raw_px = raw_px.reshape(-1, 2)
    rect_px = optical[:, :2] / optical[:, 2:] * [P[0], P[5]] + [P[2], P[6]]
    info = (LENS_K, P, LENSES[model], model, W, H)
    raw = CameraModel.from_camera_info(*info, rectified=False)
    rectified = CameraModel.from_camera_info(*info, rectified=True)
    from_raw = locate([box_on(u, v) for u, v in raw_px], pose, raw)
    from_rect = locate([box_on(u, v) for u, v in rect_px], pose, rectified)
    assert from_raw.valid.all() and from_rect.valid.all()
    np.testing.assert_allclose(from_raw.position, ground, atol=1e-3)
    np.testing.assert_allclose(from_rect.position, ground, atol=1e-6)
    np.testing.assert_allclose(from_raw.range, from_rect.range, atol=1e-3)
    assert np.all(np.linalg.eigvalsh(from_raw.covariance) > 0)


def test_no_boxes_give_empty_arrays() -> None:
    found = locate(np.empty((0, 4)))
    assert len(found) == 0
    assert found.position.shape == (0, 2) and found.covariance.shape == (0, 2, 2)
    assert found.size.shape == (0, 3)
    raw = CameraModel(CAM, "plumb_bob", (-0.1, 0.0, 0.0, 0.0, 0.0))
    assert len(locate(np.empty((0, 4)), camera=raw)) == 0


@pytest.mark.parametrize(
    ("boxes", "ids", "message"),
    [
        (np.zeros((2, 3)), [0, 0], r"\[N, 4\]"),
        ([[0.0, 0.0, float("nan"), 10.0]], [0], "non-finite"),
        ([[10.0, 0.0, 5.0, 10.0]], [0], "x1 <= x2"),
        ([[0.0, 0.0, 5.0, 10.0]], [0, 1], "class ids"),
        ([[0.0, 0.0, 5.0, 10.0]], [3], "class ids"),
        ([[0.0, 0.0, 5.0, 10.0]], [0.5], "class ids"),
    ],
)
def test_bad_detections_are_input_errors(boxes, ids, message) -> None:
    with pytest.raises(InputError, match=message):
        locate_objects(np.asarray(boxes), np.asarray(ids), NAMES, CAM, CameraPose(), GRID)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ObjectSettings(sigma_v_px=-1.0),
        lambda: ObjectSettings(side_margin_px=-0.5),
        lambda: ObjectSettings(sigma_pitch_rad=float("nan")),
        lambda: ObjectSettings(prior_classes=("car",), prior_heights_m=(1.5,)),
        lambda: ObjectSettings(prior_widths_m=(0.0,) * len(ObjectSettings().prior_classes)),
        lambda: ObjectSettings(default_width_m=float("inf")),
        lambda: ObjectSettings(default_length_m=-2.0),
    ],
)
def test_invalid_object_settings_are_config_errors(build) -> None:
    with pytest.raises(ConfigError):
        build()
