"""Anchor layout and the box transform."""

from __future__ import annotations

import numpy as np
import pytest

from hybridnets_core import HybridNets
from hybridnets_core.decoding.boxes import decode_boxes, encode_boxes
from hybridnets_core.model.anchors import generate_anchors

STRIDES = [8, 16, 32, 64, 128]


def test_anchor_count_and_first_boxes_at_640x384() -> None:
    anchors = generate_anchors(384, 640, STRIDES)
    assert anchors.shape == (46_035, 4)
    # (y1, x1, y2, x2) at centre (4, 4), side 1.25 * 8 * scale, ratios (x, y) scale-major.
    np.testing.assert_allclose(anchors[0], [-3.9, 0.9, 11.9, 7.1], atol=1e-5)
    np.testing.assert_allclose(anchors[1], [-1.0, -1.0, 9.0, 9.0], atol=1e-5)
    np.testing.assert_allclose(anchors[2], [0.9, -3.9, 7.1, 11.9], atol=1e-5)
    side = 10 * 2**0.70
    np.testing.assert_allclose(
        anchors[3],
        [4 - side * 1.58 / 2, 4 - side * 0.62 / 2, 4 + side * 1.58 / 2, 4 + side * 0.62 / 2],
        atol=1e-4,
    )
    # next location moves along x first; the next level starts after 80*48*9 anchors.
    np.testing.assert_allclose(anchors[9], anchors[0] + [0, 8, 0, 8], atol=1e-5)
    np.testing.assert_allclose(anchors[80 * 9], anchors[0] + [8, 0, 8, 0], atol=1e-5)
    np.testing.assert_allclose(anchors[34_560 + 1], [-2.0, -2.0, 18.0, 18.0], atol=1e-5)


def test_model_anchors_match_generator() -> None:
    model = HybridNets(compound_coef=0)
    np.testing.assert_array_equal(
        model.anchors(384, 640).numpy(), generate_anchors(384, 640, STRIDES)
    )


def test_anchor_generation_rejects_bad_size() -> None:
    with pytest.raises(ValueError, match="not a multiple"):
        generate_anchors(300, 640, STRIDES)


def test_decode_inverts_encode() -> None:
    rng = np.random.default_rng(0)
    anchors = generate_anchors(384, 640, STRIDES)[rng.choice(46_035, 500)]
    xy = rng.uniform(0, 600, (500, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(2, 300, (500, 2))], axis=1)
    np.testing.assert_allclose(
        decode_boxes(encode_boxes(boxes, anchors), anchors), boxes, atol=1e-3
    )


def test_zero_delta_decodes_to_anchor() -> None:
    anchors = generate_anchors(128, 128, STRIDES)
    decoded = decode_boxes(np.zeros((len(anchors), 4), np.float32), anchors)
    np.testing.assert_allclose(decoded, anchors[:, [1, 0, 3, 2]], atol=1e-5)
