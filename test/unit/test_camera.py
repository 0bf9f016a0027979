"""Camera model: CameraInfo parsing and validation, pixel rays through OpenCV's lens models."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from hybridnets_core.errors import ConfigError
from hybridnets_core.scene.camera import (
    EQUIDISTANT,
    NO_DISTORTION,
    PLUMB_BOB,
    RATIONAL_POLYNOMIAL,
    CameraIntrinsics,
    CameraModel,
    CameraModelHistory,
)

W, H = 640, 480
K = [500.0, 0.0, 319.5, 0.0, 505.0, 239.5, 0.0, 0.0, 1.0]
P = [420.0, 0.0, 300.0, 0.0, 0.0, 425.0, 250.0, 0.0, 0.0, 0.0, 1.0, 0.0]
LENSES = {
    PLUMB_BOB: [-0.28, 0.07, 0.001, -0.0005, 0.0],
    RATIONAL_POLYNOMIAL: [0.4, -0.1, 0.0005, 0.0002, 0.01, 0.7, -0.05, 0.02],
    EQUIDISTANT: [0.05, -0.01, 0.003, -0.001],
}


def raw(model: str, k: list[float] = K) -> CameraModel:
    return CameraModel.from_camera_info(k, P, LENSES[model], model, W, H, rectified=False)


def opencv_pixels(model: str, points: np.ndarray) -> np.ndarray:
    """OpenCV's forward projection of optical-frame points [N, 3] for a raw camera."""
    k = np.array(K).reshape(3, 3)
    d = np.array(LENSES[model])
    zero = np.zeros(3)
    if model == EQUIDISTANT:
        pixels, _ = cv2.fisheye.projectPoints(points.reshape(-1, 1, 3), zero, zero, k, d)
    else:
        pixels, _ = cv2.projectPoints(points, zero, zero, k, d)
    return pixels.reshape(-1, 2)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def test_rectified_input_uses_p_and_raw_input_uses_k_and_d() -> None:
    rect = CameraModel.from_camera_info(K, P, LENSES[PLUMB_BOB], PLUMB_BOB, W, H, rectified=True)
    assert rect.intrinsics == CameraIntrinsics(420.0, 425.0, 300.0, 250.0, W, H)
    assert not rect.distorted and rect.distortion == ()
    cam = raw(PLUMB_BOB)
    assert cam.intrinsics == CameraIntrinsics(500.0, 505.0, 319.5, 239.5, W, H)
    assert cam.distorted and cam.distortion == tuple(LENSES[PLUMB_BOB])


def test_pinhole_rays_are_the_normalised_pixel_directions() -> None:
    cam = CameraModel.from_camera_info(K, P, [], "", W, H, rectified=True)
    rays = cam.pixel_rays(np.array([300.0, 0.0, 639.0]), np.array([250.0, 0.0, 479.0]))
    expected = unit(
        np.array([[0.0, 0.0, 1.0], [-300 / 420, -250 / 425, 1.0], [339 / 420, 229 / 425, 1.0]])
    )
    np.testing.assert_allclose(rays, expected, atol=1e-15)
    assert rays.shape == (3, 3)


def test_rectification_rotates_rays_back_into_the_optical_frame() -> None:
    angle = 0.05  # rectified coordinates = R @ optical ones, R a rotation about y
    r = [
        math.cos(angle),
        0.0,
        math.sin(angle),
        0.0,
        1.0,
        0.0,
        -math.sin(angle),
        0.0,
        math.cos(angle),
    ]
    cam = CameraModel.from_camera_info(K, P, [], "", W, H, rectified=True, r=r)
    (ray,) = cam.pixel_rays(np.array([300.0]), np.array([250.0]))  # rectified axis
    np.testing.assert_allclose(ray, [-math.sin(angle), 0.0, math.cos(angle)], atol=1e-15)
    pixels, in_front = cam.project(ray[None])
    np.testing.assert_allclose(pixels, [[300.0, 250.0]], atol=1e-9)
    assert in_front.all()
    identity = CameraModel.from_camera_info(K, P, [], "", W, H, rectified=True, r=[0.0] * 9)
    assert identity.rectification is None  # all-zero R (unset) means identity


@pytest.mark.parametrize("model", list(LENSES))
def test_raw_rays_invert_opencvs_forward_model(model: str) -> None:
    rng = np.random.default_rng(1)
    directions = unit(np.column_stack([rng.uniform(-0.5, 0.5, (200, 2)), np.ones(200)]))
    pixels = opencv_pixels(model, directions)
    rays = raw(model).pixel_rays(pixels[:, 0], pixels[:, 1])
    np.testing.assert_allclose(rays, directions, atol=1e-9)
    back, in_front = raw(model).project(rays)
    np.testing.assert_allclose(back, pixels, atol=1e-6)
    assert in_front.all()


def test_distortion_moves_the_image_corner_rays() -> None:
    pinhole = CameraModel.from_camera_info(K, P, [0.0] * 5, PLUMB_BOB, W, H, rectified=False)
    assert not pinhole.distorted  # all-zero coefficients: a pinhole camera
    corner = (np.array([0.0]), np.array([0.0]))
    bent = raw(PLUMB_BOB).pixel_rays(*corner)[0]
    straight = pinhole.pixel_rays(*corner)[0]
    assert math.acos(float(bent @ straight)) > 0.05  # barrel distortion: corner sees wider


def test_pixels_beyond_the_invertible_lens_range_have_no_ray() -> None:
    # r_d = r (1 - 0.5 r^2) peaks at r_d = 0.544: distorted radii beyond it have no solution.
    cam = CameraModel(
        CameraIntrinsics(500.0, 500.0, 319.5, 239.5, W, H), PLUMB_BOB, (-0.5, 0, 0, 0, 0)
    )
    rays = cam.pixel_rays(319.5 + 500 * np.array([0.3, 0.5, 0.6, 0.7]), np.full(4, 239.5))
    assert np.isfinite(rays[:2]).all()
    assert np.isnan(rays[2:]).all()


def test_project_marks_points_behind_the_camera() -> None:
    pixels, in_front = raw(PLUMB_BOB).project(np.array([[0.1, 0.1, 1.0], [0.1, 0.1, -1.0]]))
    assert in_front.tolist() == [True, False]
    assert np.isfinite(pixels[0]).all() and np.isnan(pixels[1]).all()


@pytest.mark.parametrize("model", [NO_DISTORTION, *LENSES])
def test_scaling_keeps_the_view_of_every_model(model: str) -> None:
    full = raw(model) if model != NO_DISTORTION else CameraModel(CameraIntrinsics.from_k(K, W, H))
    half = full.scaled_to(W // 2, H // 2)
    assert half.distortion == full.distortion and half.width == W // 2
    points = unit(np.array([[0.2, -0.1, 1.0], [-0.3, 0.25, 1.0], [0.0, 0.0, 1.0]]))
    big, _ = full.project(points)
    small, _ = half.project(points)
    np.testing.assert_allclose(small, (big + 0.5) / 2 - 0.5, atol=1e-9)
    np.testing.assert_allclose(half.pixel_rays(small[:, 0], small[:, 1]), points, atol=1e-9)


def test_empty_pixel_sets_give_empty_rays() -> None:
    assert raw(PLUMB_BOB).pixel_rays(np.empty(0), np.empty(0)).shape == (0, 3)


def test_an_accepted_camera_info_stays_usable_at_any_mask_size() -> None:
    cam = CameraModel.from_camera_info([1e4, 0, 0.5, 0, 1e4, 0.5, 0, 0, 1], P, [], "", 1, 1, False)
    for width, height in [(1, 1), (3, 2), (1280, 720), (100_000, 7)]:
        scaled = cam.scaled_to(width, height)
        assert math.isfinite(scaled.intrinsics.fx) and scaled.intrinsics.fx > 0


@pytest.mark.parametrize(
    ("k", "p", "d", "model", "size", "rectified", "message"),
    [
        ([1e308, 0, 0, 0, 1e308, 0, 0, 0, 1], P, [], "", (1, 1), False, "focal lengths"),
        ([float("nan"), *K[1:]], P, [], "", (W, H), False, "non-finite"),
        ([-500.0, *K[1:]], P, [], "", (W, H), False, "focal lengths"),
        (K[:4], P, [], "", (W, H), False, "K needs 9"),
        (K, P[:9], [], "", (W, H), True, "P needs 12"),
        (K, [0, 0, 300, 0, 0, 0, 250, 0, 0, 0, 1, 0], [], "", (W, H), True, "P focal lengths"),
        ([0.0] * 9, [0.0] * 12, [], "", (W, H), True, "K focal lengths"),  # uncalibrated camera
        ([500, 0, 9000, 0, 505, 239.5, 0, 0, 1], P, [], "", (W, H), False, "principal point"),
        (K, P, [0.1] * 4, PLUMB_BOB, (W, H), False, "needs 5 coefficients"),
        (K, P, [0.1] * 5, "", (W, H), False, "no distortion model"),
        (K, P, [0.1] * 5, "fisheye_v2", (W, H), False, "unknown distortion model"),
        (K, P, [0.1, float("inf"), 0, 0, 0], PLUMB_BOB, (W, H), False, "finite"),
        (K, P, [-80.0, 0, 0, 0, 0], PLUMB_BOB, (W, H), False, "invertible"),
        (K, P, [], "", (0, H), False, "image size"),
    ],
)
def test_unusable_camera_info_is_a_one_line_config_error(
    k, p, d, model, size, rectified, message
) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        CameraModel.from_camera_info(k, p, d, model, size[0], size[1], rectified)
    assert "\n" not in str(error.value)


def test_rectification_must_be_a_rotation() -> None:
    with pytest.raises(ConfigError, match="rotation"):
        CameraModel.from_camera_info(
            K, P, [], "", W, H, rectified=True, r=[2.0, 0, 0, 0, 1, 0, 0, 0, 1]
        )


def test_history_returns_the_nearest_model_within_tolerance() -> None:
    a, b, c = (CameraModel(CameraIntrinsics(f, f, 10.0, 10.0, 20, 20)) for f in (10.0, 11.0, 12.0))
    history = CameraModelHistory(tolerance_ns=5_000_000, capacity=2)
    assert history.nearest(0) is None
    history.add(200_000_000, b)
    history.add(100_000_000, a)  # out of order
    assert history.nearest(103_000_000) is a
    assert history.nearest(198_000_000) is b
    assert history.nearest(150_000_000) is None  # 50 ms from both
    history.add(200_000_000, c)  # same stamp: replaced
    assert history.nearest(200_000_000) is c and len(history) == 2
    history.add(300_000_000, a)  # over capacity: the oldest (100 ms) goes
    assert len(history) == 2 and history.nearest(100_000_000) is None


def test_history_prefers_the_earlier_model_on_a_tie() -> None:
    a, b = (CameraModel(CameraIntrinsics(f, f, 10.0, 10.0, 20, 20)) for f in (10.0, 11.0))
    history = CameraModelHistory(tolerance_ns=10)
    history.add(0, a)
    history.add(10, b)
    assert history.nearest(5) is a
    with pytest.raises(ConfigError):
        CameraModelHistory(tolerance_ns=-1)
