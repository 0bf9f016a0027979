"""Cuboids standing on the ground, projected by OpenCV (not by our own forward code): the
independent reference that object placement and fusion across cameras are tested against."""

from __future__ import annotations

import math

import cv2
import numpy as np

from hybridnets_core.scene.camera import CameraIntrinsics, CameraModel
from hybridnets_core.scene.ground import CameraPose, GridSpec

W, H, F = 1280, 720, 1275.5
CAM = CameraIntrinsics(F, F, (W - 1) / 2, (H - 1) / 2, W, H)
GRID = GridSpec(x_min=-60.0, x_max=80.0, y_min=-60.0, y_max=60.0, resolution=0.5)
NAMES = ["car", "truck"]
SIZES = {"car": (4.5, 1.8, 1.5), "truck": (8.0, 2.5, 3.0)}  # length (x), width (y), height
DEG = math.pi / 180


def optical_corners(pose: CameraPose, centre: tuple[float, float], name: str) -> np.ndarray:
    """The 8 corners [8, 3] of a grid-aligned cuboid standing on the ground at `centre`, in the
    camera's optical frame (z forward)."""
    length, width, height = SIZES[name]
    corners = np.array(
        [
            (centre[0] + dx * length / 2, centre[1] + dy * width / 2, z)
            for dx in (-1, 1)
            for dy in (-1, 1)
            for z in (0.0, height)
        ]
    )
    optical_pose = pose.optical_pose()
    return (corners - optical_pose.position) @ optical_pose.rotation_matrix()


def cuboid_box(
    camera: CameraModel, pose: CameraPose, centre: tuple[float, float], name: str
) -> np.ndarray:
    """Edge-convention box [4] of a grid-aligned cuboid standing on the ground at `centre`: the
    min/max of its 8 corners projected by OpenCV (cv2.projectPoints / cv2.fisheye.projectPoints),
    clipped to the image."""
    optical = optical_corners(pose, centre, name)
    assert (optical[:, 2] > 0).all(), "the cuboid must lie in front of the camera"
    k, zero = camera.intrinsics.matrix(), np.zeros(3)
    coeffs = np.asarray(camera.distortion or (0.0,) * 5)
    if camera.distortion_model == "equidistant":
        pixels, _ = cv2.fisheye.projectPoints(optical.reshape(-1, 1, 3), zero, zero, k, coeffs)
    else:
        pixels, _ = cv2.projectPoints(optical, zero, zero, k, coeffs)
    pixels = pixels.reshape(-1, 2) + 0.5  # pixel centres -> edge convention
    low, high = pixels.min(axis=0), pixels.max(axis=0)
    return np.array(
        [max(low[0], 0.0), max(low[1], 0.0), min(high[0], W), min(high[1], H)], dtype=np.float64
    )


def box_in_view(
    pose: CameraPose, centre: tuple[float, float], name: str, margin: float = 4.0
) -> np.ndarray | None:
    """The cuboid's box in the pinhole camera CAM where it lies wholly in front of the camera
    and inside the image by `margin` px on the sides and bottom; None where it does not."""
    if (optical_corners(pose, centre, name)[:, 2] < 0.5).any():
        return None
    box = cuboid_box(CameraModel(CAM), pose, centre, name)
    inside = box[0] > margin and box[2] < W - margin and box[3] < H - margin and box[1] < box[3]
    return box if inside else None
