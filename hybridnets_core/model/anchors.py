"""Anchor generation (numpy, framework-free); decoding against anchors is in decoding.boxes."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from .config import BDD_ANCHOR_RATIOS, BDD_ANCHOR_SCALES, ModelConfig

ANCHOR_SCALE = 1.25


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
