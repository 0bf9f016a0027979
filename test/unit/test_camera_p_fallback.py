"""A rectified camera whose CameraInfo carries K but an all-zero P (drivers without a
rectification calibration) projects with K, and says so once."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hybridnets_core.scene.camera import P_UNSET_WARNING, CameraModel

W, H = 1280, 720
FX, FY, CX, CY = 900.0, 880.0, 640.5, 355.0
K = [FX, 0.0, CX, 0.0, FY, CY, 0.0, 0.0, 1.0]


def test_an_all_zero_p_falls_back_to_k_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="P is all zero"):
        cam = CameraModel.from_camera_info(K, [0.0] * 12, [], "", W, H, rectified=True)
    points = np.array([[1.0, -0.5, 10.0], [-3.0, 1.5, 20.0], [0.0, 0.0, 5.0]])
    pixels, in_front = cam.project(points)
    closed_form = np.stack(
        [FX * points[:, 0] / points[:, 2] + CX, FY * points[:, 1] / points[:, 2] + CY], axis=1
    )
    assert in_front.all()
    np.testing.assert_allclose(pixels, closed_form, atol=1e-9)
    rays = cam.pixel_rays(closed_form[:, 0], closed_form[:, 1])
    np.testing.assert_allclose(rays, points / np.linalg.norm(points, axis=1)[:, None], atol=1e-9)


def test_the_warning_names_the_fix_and_is_shown_once_per_call_site() -> None:
    assert "publish P" in P_UNSET_WARNING
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's own filter outside test runners
        for _ in range(3):
            CameraModel.from_camera_info(K, [0.0] * 12, [], "", W, H, rectified=True)
    assert [str(w.message) for w in caught] == [P_UNSET_WARNING]


def test_a_calibrated_p_is_still_used() -> None:
    p = [700.0, 0.0, 600.0, 0.0, 0.0, 710.0, 360.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning for a usable P
        cam = CameraModel.from_camera_info(K, p, [], "", W, H, rectified=True)
    pixels, _ = cam.project(np.array([[1.0, -0.5, 10.0]]))
    np.testing.assert_allclose(pixels, [[700.0 * 0.1 + 600.0, 710.0 * -0.05 + 360.0]])
