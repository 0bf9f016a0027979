"""Anchor generation and the box <-> regression-delta transform (numpy, framework-free)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .config import ModelConfig

ANCHOR_SCALE = 1.25
BDD_ANCHOR_SCALES: tuple[float, ...] = (2**0, 2**0.70, 2**1.32)
BDD_ANCHOR_RATIOS: tuple[tuple[float, float], ...] = ((0.62, 1.58), (1.0, 1.0), (1.58, 0.62))


def generate_anchors(
    height: int,
    width: int,
    strides: Sequence[int],
    scales: Sequence[float] = BDD_ANCHOR_SCALES,
    ratios: Sequence[tuple[float, float]] = BDD_ANCHOR_RATIOS,
) -> np.ndarray:
    """Anchors [N, 4] as (y1, x1, y2, x2) pixels, ordered level -> row -> column -> anchor.

    Centres lie at s/2 + k*s; each (scale, ratio) pair (scale-major) gives a box of side
    1.25*s*scale stretched by ratio (x, y), exactly as the official `Anchors` module.
    """
    levels = []
    for stride in strides:
        if height % stride or width % stride:
            raise ValueError(f"input {height}x{width} is not a multiple of stride {stride}")
        ys = np.arange(stride / 2, height, stride)
        xs = np.arange(stride / 2, width, stride)
        centre_x, centre_y = np.meshgrid(xs, ys)
        centres = np.stack([centre_y.ravel(), centre_x.ravel()], axis=1)
        half_sizes = np.array(
            [
                (size * ratio[1] / 2, size * ratio[0] / 2)
                for size, ratio in (
                    (ANCHOR_SCALE * stride * scale, ratio)
                    for scale, ratio in itertools.product(scales, ratios)
                )
            ]
        )
        boxes = np.concatenate(
            [centres[:, None, :] - half_sizes[None], centres[:, None, :] + half_sizes[None]], axis=2
        )
        levels.append(boxes.reshape(-1, 4))
    return np.concatenate(levels).astype(np.float32)


@lru_cache(maxsize=16)
def _cached_anchors(
    size: tuple[int, int],
    strides: tuple[int, ...],
    scales: tuple[float, ...],
    ratios: tuple[tuple[float, float], ...],
) -> np.ndarray:
    anchors = generate_anchors(*size, strides=strides, scales=scales, ratios=ratios)
    anchors.flags.writeable = False  # shared by every caller
    return anchors


def anchors_for(config: ModelConfig, input_size: tuple[int, int] | None = None) -> np.ndarray:
    """The network's anchors for an input size (default: the config's), computed once per
    (size, strides, scales, ratios) and shared read-only by the Pipeline, export and training."""
    size = tuple(input_size or config.input_size)
    return _cached_anchors(
        (int(size[0]), int(size[1])),
        tuple(config.strides),
        tuple(config.anchor_scales),
        tuple(config.anchor_ratios),
    )


def anchor_geometry(anchors: np.ndarray) -> tuple[np.ndarray, ...]:
    """Centre y, centre x, height and width of (y1, x1, y2, x2) anchors."""
    centre_y = (anchors[..., 0] + anchors[..., 2]) / 2
    centre_x = (anchors[..., 1] + anchors[..., 3]) / 2
    return centre_y, centre_x, anchors[..., 2] - anchors[..., 0], anchors[..., 3] - anchors[..., 1]


def decode_boxes(regression: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Apply (dy, dx, dh, dw) deltas to anchors; returns boxes (x1, y1, x2, y2)."""
    centre_y, centre_x, height, width = anchor_geometry(anchors)
    box_cy = regression[..., 0] * height + centre_y
    box_cx = regression[..., 1] * width + centre_x
    box_h = np.exp(regression[..., 2]) * height
    box_w = np.exp(regression[..., 3]) * width
    return np.stack(
        [box_cx - box_w / 2, box_cy - box_h / 2, box_cx + box_w / 2, box_cy + box_h / 2], axis=-1
    )


def encode_boxes(boxes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Inverse of `decode_boxes`: (x1, y1, x2, y2) boxes -> (dy, dx, dh, dw) deltas."""
    centre_y, centre_x, height, width = anchor_geometry(anchors)
    box_w = boxes[..., 2] - boxes[..., 0]
    box_h = boxes[..., 3] - boxes[..., 1]
    box_cx = boxes[..., 0] + box_w / 2
    box_cy = boxes[..., 1] + box_h / 2
    return np.stack(
        [
            (box_cy - centre_y) / height,
            (box_cx - centre_x) / width,
            np.log(box_h / height),
            np.log(box_w / width),
        ],
        axis=-1,
    )
