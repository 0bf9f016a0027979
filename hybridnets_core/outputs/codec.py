"""ROS-free message data: camera messages to pixels, perception results to message field values.

Works on any object with the ROS field names (rclpy messages or `rosbags` dataclasses), so the
live node and the bag tools decode and encode exactly alike.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..errors import InputError
from ..limits import MAX_FRAME_PIXELS, MAX_FRAME_SIDE

# Channels per supported raw encoding, and whether its colour order is RGB (else BGR/gray).
RAW_ENCODINGS: dict[str, tuple[int, str]] = {
    "rgb8": (3, "rgb"),
    "bgr8": (3, "bgr"),
    "rgba8": (4, "rgb"),
    "bgra8": (4, "bgr"),
    "mono8": (1, "bgr"),
}


def check_image_size(width: int, height: int, what: str) -> None:
    """InputError unless width x height is a usable camera frame (limits.MAX_FRAME_*)."""
    side, pixels = MAX_FRAME_SIDE, MAX_FRAME_PIXELS
    if not (0 < height <= side and 0 < width <= side) or width * height > pixels:
        raise InputError(
            f"{what} {width}x{height} is empty or too large (at most {side} px a side and "
            f"{pixels // 1_000_000} Mpx)"
        )


def image_to_array(msg: Any) -> tuple[np.ndarray, str]:
    """Decode a raw Image into (uint8 HxWx3 view, "rgb" | "bgr"); InputError when malformed."""
    if msg.encoding not in RAW_ENCODINGS:
        raise InputError(
            f"unsupported encoding '{msg.encoding}' (supported: {', '.join(RAW_ENCODINGS)})"
        )
    channels, color = RAW_ENCODINGS[msg.encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    check_image_size(width, height, "image size")
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


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8"
# JPEG start-of-frame markers (baseline, progressive, lossless...): they carry the image size
JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
JPEG_NO_LENGTH = frozenset([0x01, *range(0xD0, 0xD8)])


def declared_size(data: bytes) -> tuple[int, int]:
    """(width, height) a PNG or JPEG header declares, read without decoding the pixels;
    InputError for other formats or a header that does not say."""
    if data[:8] == PNG_SIGNATURE and len(data) >= 24 and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != JPEG_START:
        raise InputError(
            "cannot decode the compressed image: neither jpeg nor png (by its first bytes)"
        )
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            break
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in JPEG_NO_LENGTH:
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker in JPEG_SOF and position + 9 <= len(data):
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            return width, height
        if marker == 0xDA or length < 2:  # image data began without a frame header
            break
        position += 2 + length
    raise InputError(
        "cannot decode the jpeg: its header declares no image size (truncated or corrupt)"
    )


def compressed_to_array(msg: Any) -> np.ndarray:
    """Decode a jpeg/png CompressedImage to a BGR uint8 HxWx3 array; InputError when corrupt.

    The size the header declares is checked first (`check_image_size`), so a small file
    claiming a huge image is refused before any pixel memory is allocated.
    """
    if "compressedDepth" in msg.format:
        raise InputError(f"unsupported compressed format '{msg.format}' (expected jpeg or png)")
    data = np.frombuffer(msg.data, np.uint8)
    if data.size == 0:
        raise InputError("compressed image has no data")
    check_image_size(*declared_size(data[:65536].tobytes()), "compressed image declares")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise InputError(f"cannot decode compressed image ({data.size} bytes, '{msg.format}')")
    return image


def decode_image(msg: Any) -> tuple[np.ndarray, str]:
    """Pixels and colour order of a camera message: a CompressedImage (it has a `format`) is
    decoded to BGR, a raw Image keeps its own order; InputError when malformed."""
    if hasattr(msg, "format"):
        return compressed_to_array(msg), "bgr"
    return image_to_array(msg)


def mask_to_mono8(mask: np.ndarray) -> np.ndarray:
    """A boolean mask as mono8 pixels: 255 foreground, 0 background."""
    return np.negative(np.ascontiguousarray(mask).view(np.uint8))  # 1 -> 255
