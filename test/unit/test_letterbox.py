"""Letterbox geometry: the official 1280x720 layout and round trips of boxes and masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hybridnets_core.errors import InputError
from hybridnets_core.inference.letterbox import Letterbox
from hybridnets_core.model.config import PAD_VALUE


def test_dashcam_frame_layout() -> None:
    letterbox = Letterbox.fit((720, 1280), (384, 640))
    assert (letterbox.scale, letterbox.resized_size) == (0.5, (360, 640))
    assert (letterbox.pad_top, letterbox.pad_left) == (12, 0)
    padded = letterbox.apply(np.zeros((720, 1280, 3), np.uint8))
    assert padded.shape == (384, 640, 3)
    assert (padded[:12] == PAD_VALUE).all() and (padded[-12:] == PAD_VALUE).all()
    assert (padded[12:-12] == 0).all()


@pytest.mark.parametrize("source", [(720, 1280), (480, 640), (1080, 1440), (200, 300), (37, 1000)])
def test_box_round_trip_through_pixels(source: tuple[int, int]) -> None:
    """Draw a box, letterbox the image, find the box again, map it back: within 1 px."""
    height, width = source
    x1, y1, x2, y2 = int(width * 0.3), int(height * 0.4), int(width * 0.7), int(height * 0.9)
    image = np.zeros((height, width, 3), np.uint8)
    image[y1:y2, x1:x2] = 255
    letterbox = Letterbox.fit(source, (384, 640))
    network = letterbox.apply(image)[..., 0]
    rows, cols = np.nonzero(network > 127)
    found = np.array([[cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]], np.float32)
    mapped = letterbox.boxes_to_source(found)[0]
    tolerance = 1 + 1 / letterbox.scale  # one network pixel of quantisation, plus 1 px
    np.testing.assert_allclose(mapped, [x1, y1, x2, y2], atol=tolerance)


def test_box_mapping_is_invertible_and_clipped() -> None:
    letterbox = Letterbox.fit((720, 1280), (384, 640))
    boxes = np.array([[10.5, 20.25, 300.0, 700.0]], np.float32)
    np.testing.assert_allclose(letterbox.boxes_to_source(letterbox.boxes_to_network(boxes)), boxes)
    outside = np.array([[-50, -5, 700, 400]], np.float32)
    np.testing.assert_array_equal(letterbox.boxes_to_source(outside), [[0, 0, 1280, 720]])


@pytest.mark.parametrize("source", [(720, 1280), (500, 500), (333, 777)])
def test_mask_round_trip_aligns(source: tuple[int, int]) -> None:
    height, width = source
    mask = np.zeros(source, np.uint8)
    cv2.circle(mask, (width // 2, height // 2), min(source) // 3, 1, -1)
    letterbox = Letterbox.fit(source, (384, 640))
    network = np.zeros(letterbox.network_size, np.uint8)
    rows, cols = letterbox.content_slice
    network[rows, cols] = cv2.resize(
        mask, letterbox.resized_size[::-1], interpolation=cv2.INTER_NEAREST
    )
    restored = letterbox.map_to_source(network)
    assert restored.shape == source
    overlap = np.logical_and(restored, mask).sum() / np.logical_or(restored, mask).sum()
    assert overlap > 0.97


@pytest.mark.parametrize(
    ("source", "resized", "pads"),
    [
        ((768, 1366), (359, 640), (12, 13)),  # the paper truncates 359.8 rows to 359
        ((480, 854), (359, 640), (12, 13)),
        ((375, 1242), (193, 640), (95, 96)),
        ((376, 1241), (193, 639), (95, 96)),  # 1241 * (640 / 1241) is 639.99... in floats
    ],
)
def test_resized_sides_are_truncated_as_in_the_paper(
    source: tuple[int, int], resized: tuple[int, int], pads: tuple[int, int]
) -> None:
    letterbox = Letterbox.fit(source, (384, 640))
    assert letterbox.resized_size == resized
    bottom = 384 - resized[0] - letterbox.pad_top
    assert (letterbox.pad_top, bottom) == pads
    padded = letterbox.apply(np.full((*source, 3), 7, np.uint8))
    rows = np.flatnonzero((padded[:, 320] == 7).all(axis=1))
    assert (rows[0], rows[-1] + 1) == (pads[0], pads[0] + resized[0])


@pytest.mark.parametrize("source", [(2, 16384), (2, 8000), (8000, 2)])
def test_images_that_would_vanish_in_the_network_input_are_rejected(
    source: tuple[int, int],
) -> None:
    with pytest.raises(InputError, match="too elongated") as error:
        Letterbox.fit(source, (256, 384))
    assert "\n" not in str(error.value)
    assert Letterbox.fit((4, 1152), (256, 384)).resized_size == (1, 384)  # 1 px: still usable
