"""ROS-free message data: camera messages to pixels, perception results to message field values.

Works on any object with the ROS field names (rclpy messages or `rosbags` dataclasses), so the
live node and the bag tools decode and encode exactly alike.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .errors import InputError

# Channels per supported raw encoding, and whether its colour order is RGB (else BGR/gray).
RAW_ENCODINGS: dict[str, tuple[int, str]] = {
    "rgb8": (3, "rgb"),
    "bgr8": (3, "bgr"),
    "rgba8": (4, "rgb"),
    "bgra8": (4, "bgr"),
    "mono8": (1, "bgr"),
}
MAX_SIDE = 16384


def image_to_array(msg: Any) -> tuple[np.ndarray, str]:
    """Decode a raw Image into (uint8 HxWx3 view, "rgb" | "bgr"); InputError when malformed."""
    if msg.encoding not in RAW_ENCODINGS:
        raise InputError(
            f"unsupported encoding '{msg.encoding}' (supported: {', '.join(RAW_ENCODINGS)})"
        )
    channels, color = RAW_ENCODINGS[msg.encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if not (0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE):
        raise InputError(f"image size {width}x{height} is empty or too large")
    if step < width * channels:
        raise InputError(f"step {step} is smaller than width*channels = {width * channels}")
    data = np.frombuffer(msg.data, np.uint8)
    if data.size < step * height:
        raise InputError(f"data has {data.size} bytes, expected step*height = {step * height}")
    rows = data[: step * height].reshape(height, step)
    pixels = rows[:, : width * channels].reshape(height, width, channels)
    if channels == 1:
        return np.repeat(pixels, 3, axis=2), color
    return pixels[:, :, :3], color


def compressed_to_array(msg: Any) -> np.ndarray:
    """Decode a jpeg/png CompressedImage to a BGR uint8 HxWx3 array; InputError when corrupt."""
    if "compressedDepth" in msg.format:
        raise InputError(f"unsupported compressed format '{msg.format}' (expected jpeg or png)")
    data = np.frombuffer(msg.data, np.uint8)
    if data.size == 0:
        raise InputError("compressed image has no data")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise InputError(f"cannot decode compressed image ({data.size} bytes, '{msg.format}')")
    return image


def mask_to_mono8(mask: np.ndarray) -> np.ndarray:
    """A boolean mask as mono8 pixels: 255 foreground, 0 background."""
    return np.negative(np.ascontiguousarray(mask).view(np.uint8))  # 1 -> 255


def box_geometry(boxes: np.ndarray) -> np.ndarray:
    """float64 [N, 4] (centre x, centre y, size x, size y) of (x1, y1, x2, y2) boxes."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.concatenate([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], axis=1)


def geometry_to_boxes(geometry: np.ndarray) -> np.ndarray:
    """Inverse of `box_geometry`: float64 [N, 4] (x1, y1, x2, y2)."""
    geometry = np.asarray(geometry, np.float64).reshape(-1, 4)
    half = geometry[:, 2:] / 2
    return np.concatenate([geometry[:, :2] - half, geometry[:, :2] + half], axis=1)
