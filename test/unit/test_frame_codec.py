"""Camera messages to pixels and masks to mono8, on rosbags messages: no ROS needed. The node
runs the same code on rclpy messages (test/ros/test_output_factories.py: both factories build
identical messages)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from ros_fixtures import compressed_frame, raw_frame

from hybridnets_core.bag.typestore import RosbagsFactory
from hybridnets_core.outputs import codec as msgcodec
from hybridnets_core.outputs import messages

ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8")
STAMP = 1_700_000_000_000_000_000


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_raw_decoding_keeps_pixels_and_colour_order(encoding: str) -> None:
    frame = raw_frame(7, 5, encoding, STAMP, pad=2, factory=RosbagsFactory())
    channels = msgcodec.RAW_ENCODINGS[encoding][0]
    rows = np.frombuffer(frame.data, np.uint8).reshape(5, 7 * channels + 2)
    pixels = rows[:, : 7 * channels].reshape(5, 7, channels)
    image, color = msgcodec.image_to_array(frame)
    assert image.shape == (5, 7, 3) and image.dtype == np.uint8
    assert color == ("rgb" if encoding.startswith("rgb") else "bgr")
    expected = np.repeat(pixels, 3, axis=2) if channels == 1 else pixels[:, :, :3]
    assert np.array_equal(image, expected)


def test_png_decoding_is_exact_and_masks_encode_as_0_255() -> None:
    frame = compressed_frame(33, 17, "png", STAMP, factory=RosbagsFactory())
    expected = cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(msgcodec.compressed_to_array(frame), expected)
    mask = np.zeros((4, 6), dtype=bool)
    mask[1:3, 2:5] = True
    msg = messages.mask_image(RosbagsFactory(), mask, frame.header)
    values = np.frombuffer(msg.data, np.uint8).reshape(4, 6)
    assert np.array_equal(values, np.where(mask, 255, 0))
