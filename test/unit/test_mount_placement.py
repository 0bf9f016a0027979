"""Objects placed from front, side and rear cameras, checked against cuboids projected by OpenCV;
fisheye and strong barrel lenses inverted to the lens model's limit."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from cuboids import CAM, DEG, GRID, NAMES, SIZES, F, H, W, cuboid_box

from hybridnets_core.scene.camera import CameraIntrinsics, CameraModel
from hybridnets_core.scene.ground import DRIVABLE, UNSEEN, CameraPose, GridSpec, GroundProjector
from hybridnets_core.scene.objects import ObjectStatus, locate_objects


def near_face_middle(pose: CameraPose, centre: tuple[float, float], name: str) -> np.ndarray:
    """Middle of the cuboid's face nearest the camera: its end for a camera looking along grid x
    (front, rear), its side for one looking along grid y (left, right)."""
    length, width, _ = SIZES[name]
    axis = pose.optical_pose().rotation_matrix()[:2, 2]  # optical z on the ground
    x, y = centre
    if abs(axis[0]) >= abs(axis[1]):
        return np.array([x - math.copysign(length / 2, x - pose.x), y])
    return np.array([x, y - math.copysign(width / 2, y - pose.y)])


def placement_errors(
    pose: CameraPose,
    objects: list[tuple[float, float, str]],
    camera: CameraModel = CameraModel(CAM),
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (m) of the published positions from the near faces' middles, and the ranges."""
    boxes = np.array([cuboid_box(camera, pose, (x, y), name) for x, y, name in objects])
    ids = np.array([NAMES.index(name) for *_, name in objects])
    found = locate_objects(boxes, ids, NAMES, camera, pose, GRID)
    assert found.status.tolist() == [ObjectStatus.OK] * len(objects)
    truth = np.array([near_face_middle(pose, (x, y), name) for x, y, name in objects])
    ranges = np.hypot(truth[:, 0] - pose.x, truth[:, 1] - pose.y)
    return np.hypot(*(found.position - truth).T), ranges


def within_target(errors: np.ndarray, ranges: np.ndarray) -> None:
    """Every error within max(0.3 m, 3 % of the range)."""
    limit = np.maximum(0.3, 0.03 * ranges)
    assert (errors <= limit).all(), f"errors {np.round(errors, 3)} over {np.round(limit, 3)}"


# Objects in the camera's own frame: (ahead m, left m) from the camera's foot point.
AHEAD_LEFT = [(a, a * t) for a in (9.0, 15.0, 24.0, 38.0) for t in (-0.33, -0.16, 0.0, 0.12, 0.3)]


def objects_around(pose: CameraPose, name: str) -> list[tuple[float, float, str]]:
    """AHEAD_LEFT along the camera's yaw, as grid centres of cuboids standing along grid x,
    those whose box lies in the image (not within 3 px of its sides or bottom)."""
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    objects = [(pose.x + a * c - b * s, pose.y + a * s + b * c, name) for a, b in AHEAD_LEFT]
    camera = CameraModel(CAM)
    boxes = [cuboid_box(camera, pose, (x, y), name) for x, y, name in objects]
    return [o for o, b in zip(objects, boxes) if b[0] > 3 and b[2] < W - 3 and b[3] < H - 3]


FRONT = CameraPose(x=2.0, y=0.0, z=1.6)
MOUNTS = {
    "front": FRONT,
    "front rolled": CameraPose(x=2.0, y=0.3, z=1.6, roll=-2.5 * DEG, pitch=2.0 * DEG),
    "front yawed": CameraPose(x=2.0, y=-0.3, z=1.6, roll=2.0 * DEG, pitch=-1.0 * DEG, yaw=4 * DEG),
    "front turned": CameraPose(
        x=2.0, y=0.0, z=2.1, roll=-2.5 * DEG, pitch=1.0 * DEG, yaw=13.7 * DEG
    ),
    "left": CameraPose(x=2.08, y=0.91, z=2.10, yaw=90 * DEG),
    "left pitched": CameraPose(x=2.08, y=0.91, z=2.10, roll=1.5 * DEG, pitch=3 * DEG, yaw=92 * DEG),
    "right": CameraPose(x=1.5, y=-0.91, z=2.10, yaw=-90 * DEG),
    "rear": CameraPose(x=-1.0, y=0.0, z=1.2, pitch=4 * DEG, yaw=180 * DEG),
}


@pytest.mark.parametrize("mount", list(MOUNTS))
@pytest.mark.parametrize("name", NAMES)
def test_objects_stand_at_their_near_face_for_every_mount(mount: str, name: str) -> None:
    pose = MOUNTS[mount]
    objects = objects_around(pose, name)
    assert len(objects) >= 10
    errors, ranges = placement_errors(pose, objects)
    within_target(errors, ranges)


@pytest.mark.parametrize("mount", list(MOUNTS))
def test_the_centre_is_the_same_point_from_every_mount(mount: str) -> None:
    """The middle of the cuboid, whichever face the camera sees: what fusion across cameras
    compares (the size priors of car and truck are the cuboids' sizes)."""
    pose = MOUNTS[mount]
    objects = objects_around(pose, "car") + objects_around(pose, "truck")
    boxes = np.array([cuboid_box(CameraModel(CAM), pose, (x, y), n) for x, y, n in objects])
    ids = np.array([NAMES.index(name) for *_, name in objects])
    found = locate_objects(boxes, ids, NAMES, CAM, pose, GRID)
    truth = np.array([(x, y) for x, y, _ in objects])
    ranges = np.hypot(truth[:, 0] - pose.x, truth[:, 1] - pose.y)
    within_target(np.hypot(*(found.centre - truth).T), ranges)
    # the prior extent behind the near face lies on grid x for an end, on y for a side
    priors = np.array([SIZES[name] for *_, name in objects])
    axis = pose.optical_pose().rotation_matrix()[:2, 2]
    along = 0 if abs(axis[0]) >= abs(axis[1]) else 1
    np.testing.assert_allclose(found.extents[:, along], priors[:, along])
    np.testing.assert_allclose(found.extents[:, 2], priors[:, 2])


def test_the_side_camera_example_places_the_car_at_its_near_side() -> None:
    # A level left camera 2.10 m up sees a car's near side 25.7 m away: the box's bottom row is
    # that side's bottom edge, its right column the side's front end (+x), the rest is the car's
    # rear. Placed from the grid's y the car landed at (12.44, 26.60), 1.35 m off.
    camera = CameraModel(CameraIntrinsics(F, F, 651.95, 341.5, W, H))
    pose = CameraPose(x=2.08, y=0.91, z=2.10, yaw=90 * DEG)
    box = cuboid_box(camera, pose, (11.09, 27.50), "car")
    np.testing.assert_allclose(box, [966.1, 369.9, 1211.5, 446.2], atol=0.1)
    found = locate_objects(box[None], np.array([0]), NAMES, camera, pose, GRID)
    np.testing.assert_allclose(found.position, [[11.09, 26.60]], atol=1e-6)
    assert found.size[0, 0] == pytest.approx(1.8)  # along the line of sight: the car's width


def test_a_turned_rolled_camera_places_a_far_truck_at_its_near_face() -> None:
    # Placed by its box's bottom corners, these trucks landed 1.2 to 1.5 m off their near face.
    pose = MOUNTS["front turned"]
    objects = [
        (pose.x + 41.7 * math.cos(b), pose.y + 41.7 * math.sin(b), "truck")
        for b in (0.05, 0.15, 0.24, 0.33, 0.42)
    ]
    errors, ranges = placement_errors(pose, objects)
    within_target(errors, ranges)


def test_a_level_front_camera_keeps_its_exact_outer_edge_rule() -> None:
    errors, _ = placement_errors(FRONT, objects_around(FRONT, "car"))
    np.testing.assert_allclose(errors, 0.0, atol=1e-9)


FISHEYE_W, FISHEYE_H = 640, 400
FISHEYE = CameraModel(
    CameraIntrinsics(165.0, 165.0, 319.5, 199.5, FISHEYE_W, FISHEYE_H),
    "equidistant",
    (0.05, 0.01, 0.0, 0.0),
)
REAR_FISHEYE = CameraPose(x=-1.0, y=0.0, z=1.0, pitch=25 * DEG, yaw=180 * DEG)


def fisheye_pixels(optical: np.ndarray) -> np.ndarray:
    """OpenCV's fisheye projection [N, 2] of optical-frame points [N, 3] in front (z > 0)."""
    k, d, zero = FISHEYE.intrinsics.matrix(), np.asarray(FISHEYE.distortion), np.zeros(3)
    pixels, _ = cv2.fisheye.projectPoints(optical.reshape(-1, 1, 3), zero, zero, k, d)
    return pixels.reshape(-1, 2)


def test_every_fisheye_pixel_within_90_degrees_that_sees_the_ground_gets_its_ray() -> None:
    theta, phi = np.meshgrid(np.linspace(0.01, 89.9 * DEG, 300), np.linspace(0, 2 * math.pi, 600))
    theta, phi = theta.ravel(), phi.ravel()
    directions = np.column_stack(
        [np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)]
    )
    optical_pose = REAR_FISHEYE.optical_pose()
    down = optical_pose.to_grid(directions)[:, 2] < -0.02  # meets the ground within ~50 m
    pixels = fisheye_pixels(directions)
    inside = down & (pixels[:, 0] >= 0) & (pixels[:, 0] <= FISHEYE_W - 1)
    inside &= (pixels[:, 1] >= 0) & (pixels[:, 1] <= FISHEYE_H - 1)
    pixels, directions, theta = pixels[inside], directions[inside], theta[inside]
    distorted = np.hypot(*((pixels - [319.5, 199.5]) / 165.0).T)
    assert (distorted > math.pi / 2).sum() > 1000  # beyond OpenCV's fisheye inversion
    rays = FISHEYE.pixel_rays(pixels[:, 0], pixels[:, 1])
    assert np.isfinite(rays).all()
    np.testing.assert_allclose(rays, directions, atol=1e-9)


def test_fisheye_grid_cells_within_90_degrees_are_all_sampled() -> None:
    grid = GridSpec(x_min=-30.0, x_max=0.0, y_min=-30.0, y_max=30.0, resolution=0.25)
    mask = np.random.default_rng(3).random((FISHEYE_H, FISHEYE_W)) > 0.5
    occupancy = GroundProjector(FISHEYE, REAR_FISHEYE, grid).occupancy(mask)
    xs, ys = grid.cell_centres()
    optical_pose = REAR_FISHEYE.optical_pose()
    rel = np.column_stack([xs.ravel() + 1.0, ys.ravel(), np.full(xs.size, -1.0)])
    optical = rel @ optical_pose.rotation_matrix()
    front = optical[:, 2] > 0
    pixels = np.full((xs.size, 2), -1.0)
    pixels[front] = np.floor(fisheye_pixels(optical[front]) + 0.5)
    seen = front & (pixels[:, 0] >= 0) & (pixels[:, 0] < FISHEYE_W)
    seen &= (pixels[:, 1] >= 0) & (pixels[:, 1] < FISHEYE_H)
    u, v = pixels[seen].astype(int).T
    distorted = np.hypot(*((pixels[seen] - [319.5, 199.5]) / 165.0).T)
    assert (distorted > math.pi / 2).sum() > 500  # cells OpenCV's fisheye inversion would lose
    sampled = occupancy.ravel()[seen]
    assert (sampled != UNSEEN).all()
    np.testing.assert_array_equal(sampled == DRIVABLE, mask[v, u])


def test_strong_barrel_edge_pixels_converge_within_the_acceptance_limit() -> None:
    coeffs = (-0.3, 0.07, 0.0, 0.0, -0.008)  # r (1 - 0.3 r^2 + ...) rises up to r = 1.667
    camera = CameraModel(CameraIntrinsics(700.0, 700.0, 639.5, 359.5, W, H), "plumb_bob", coeffs)
    x, y = np.meshgrid(np.linspace(-1.66, 1.66, 401), np.linspace(-1.66, 1.66, 401))
    keep = np.hypot(x, y) < 0.99 * 1.667
    directions = np.column_stack([x[keep], y[keep], np.ones(keep.sum())])
    k, zero = camera.intrinsics.matrix(), np.zeros(3)
    pixels, _ = cv2.projectPoints(directions, zero, zero, k, np.asarray(coeffs))
    pixels = pixels.reshape(-1, 2)
    inside = (pixels[:, 0] >= 0) & (pixels[:, 0] <= W - 1)
    inside &= (pixels[:, 1] >= 0) & (pixels[:, 1] <= H - 1)
    pixels, directions = pixels[inside], directions[inside]
    thirty = cv2.undistortPoints(
        pixels.reshape(-1, 1, 2), k, np.asarray(coeffs), criteria=(cv2.TERM_CRITERIA_COUNT, 30, 0)
    ).reshape(-1, 2)
    back, _ = cv2.projectPoints(
        np.column_stack([thirty, np.ones(len(thirty))]), zero, zero, k, np.asarray(coeffs)
    )
    assert (np.hypot(*(back.reshape(-1, 2) - pixels).T) > 0.05).sum() > 1000  # 30 fall short
    rays = camera.pixel_rays(pixels[:, 0], pixels[:, 1])
    assert np.isfinite(rays).all()
    again, _ = cv2.projectPoints(rays, zero, zero, k, np.asarray(coeffs))
    miss = np.hypot(*(again.reshape(-1, 2) - pixels).T)
    assert miss.max() < 0.05 and np.median(miss) < 1e-9  # slowest right at the fold
