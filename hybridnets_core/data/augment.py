"""Training augmentation applied identically to image, boxes and masks (masks: nearest only)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..model.config import PAD_VALUE
from .labels import exclusive_masks
from .project import AugmentConfig

MIN_BOX_SIDE = 2.0
MIN_AREA_KEPT = 0.1
MIXUP_BETA = 32.0


@dataclass
class Example:
    """One training example at network size: BGR image, per-class bool masks, boxes, classes."""

    image: np.ndarray  # uint8 [H, W, 3]
    masks: np.ndarray  # bool [C, H, W]
    boxes: np.ndarray  # float32 [M, 4] (x1, y1, x2, y2) network pixels
    classes: np.ndarray  # int64 [M]


def affine_matrix(
    rng: np.random.Generator, config: AugmentConfig, size: tuple[int, int]
) -> np.ndarray:
    """2x3 matrix: rotate+scale and shear about the centre, then translate (paper's ranges)."""
    height, width = size
    centre = np.array([[1, 0, -width / 2], [0, 1, -height / 2], [0, 0, 1]], dtype=np.float64)
    rotation = np.eye(3)
    angle = rng.uniform(-config.rot_factor, config.rot_factor)
    scale = rng.uniform(1 - config.scale_factor, 1 + config.scale_factor)
    rotation[:2] = cv2.getRotationMatrix2D((0, 0), angle, scale)
    shear = np.eye(3)
    shear[0, 1] = math.tan(math.radians(rng.uniform(-config.shear, config.shear)))
    shear[1, 0] = math.tan(math.radians(rng.uniform(-config.shear, config.shear)))
    translate = np.eye(3)
    translate[0, 2] = rng.uniform(0.5 - config.translate, 0.5 + config.translate) * width
    translate[1, 2] = rng.uniform(0.5 - config.translate, 0.5 + config.translate) * height
    return (translate @ shear @ rotation @ centre)[:2]


def warp(example: Example, matrix: np.ndarray, size: tuple[int, int]) -> Example:
    """Apply a 2x3 affine map; boxes become the hull of their moved corners, tiny ones drop."""
    height, width = size
    image = cv2.warpAffine(
        example.image, matrix, (width, height), borderValue=(PAD_VALUE, PAD_VALUE, PAD_VALUE)
    )
    masks = np.stack(
        [
            cv2.warpAffine(m.view(np.uint8), matrix, (width, height), flags=cv2.INTER_NEAREST)
            for m in example.masks
        ]
    ).view(bool)
    boxes, classes = example.boxes, example.classes
    if len(boxes):
        corners = boxes[:, [0, 1, 2, 1, 2, 3, 0, 3]].reshape(-1, 2)
        moved = (corners @ matrix[:, :2].T + matrix[:, 2]).reshape(-1, 4, 2)
        hull = np.concatenate([moved.min(axis=1), moved.max(axis=1)], axis=1)
        np.clip(hull[:, 0::2], 0, width, out=hull[:, 0::2])
        np.clip(hull[:, 1::2], 0, height, out=hull[:, 1::2])
        side_w, side_h = hull[:, 2] - hull[:, 0], hull[:, 3] - hull[:, 1]
        area_before = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        area_scale = abs(np.linalg.det(matrix[:, :2]))
        keep = (
            (side_w > MIN_BOX_SIDE)
            & (side_h > MIN_BOX_SIDE)
            & (side_w * side_h > MIN_AREA_KEPT * area_before * area_scale)
        )
        boxes, classes = hull[keep].astype(np.float32), classes[keep]
    return Example(image, masks, boxes, classes)


def random_perspective(
    example: Example, rng: np.random.Generator, config: AugmentConfig
) -> Example:
    """Random rotation, scale, shear and translation."""
    size = example.image.shape[:2]
    return warp(example, affine_matrix(rng, config, size), size)


def augment_hsv(image: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> np.ndarray:
    """Random hue/saturation/value gains through lookup tables (BGR uint8 in and out)."""
    gains = rng.uniform(-1, 1, 3) * [config.hsv_h, config.hsv_s, config.hsv_v] + 1
    hue, saturation, value = cv2.split(cv2.cvtColor(image, cv2.COLOR_BGR2HSV))
    levels = np.arange(256, dtype=np.float64)
    tables = [
        ((levels * gains[0]) % 180).astype(np.uint8),
        np.clip(levels * gains[1], 0, 255).astype(np.uint8),
        np.clip(levels * gains[2], 0, 255).astype(np.uint8),
    ]
    channels = [cv2.LUT(c, t) for c, t in zip((hue, saturation, value), tables)]
    return cv2.cvtColor(cv2.merge(channels), cv2.COLOR_HSV2BGR)


def flip_horizontal(example: Example) -> Example:
    """Mirror left-right."""
    width = example.image.shape[1]
    boxes = example.boxes.copy()
    boxes[:, [0, 2]] = width - example.boxes[:, [2, 0]]
    return Example(
        np.ascontiguousarray(example.image[:, ::-1]),
        np.ascontiguousarray(example.masks[:, :, ::-1]),
        boxes,
        example.classes,
    )


def mosaic(tiles: list[Example], rng: np.random.Generator) -> Example:
    """Four examples on a 2x2 canvas, cut back to one network size around a random centre."""
    height, width = tiles[0].image.shape[:2]
    image = np.concatenate(
        [
            np.concatenate([t.image for t in tiles[:2]], 1),
            np.concatenate([t.image for t in tiles[2:]], 1),
        ]
    )
    masks = np.concatenate(
        [
            np.concatenate([t.masks for t in tiles[:2]], 2),
            np.concatenate([t.masks for t in tiles[2:]], 2),
        ],
        axis=1,
    )
    offsets = [(0, 0), (width, 0), (0, height), (width, height)]
    boxes = np.concatenate(
        [t.boxes + np.float32([dx, dy, dx, dy]) for t, (dx, dy) in zip(tiles, offsets)]
    )
    classes = np.concatenate([t.classes for t in tiles])
    centre_x = rng.uniform(width / 2, 3 * width / 2)
    centre_y = rng.uniform(height / 2, 3 * height / 2)
    shift = np.array([[1, 0, width / 2 - centre_x], [0, 1, height / 2 - centre_y]])
    return warp(Example(image, masks, boxes, classes), shift, (height, width))


def mixup(first: Example, second: Example, rng: np.random.Generator, multiclass: bool) -> Example:
    """Blend two examples; boxes of both are kept and masks are united."""
    ratio = rng.beta(MIXUP_BETA, MIXUP_BETA)
    image = (first.image * ratio + second.image * (1 - ratio)).astype(np.uint8)
    masks = first.masks | second.masks
    return Example(
        image,
        exclusive_masks(masks) if multiclass else masks,
        np.concatenate([first.boxes, second.boxes]),
        np.concatenate([first.classes, second.classes]),
    )


def augment(example: Example, rng: np.random.Generator, config: AugmentConfig) -> Example:
    """Perspective, HSV and flip steps of one example, each skipped when its strength is 0."""
    if config.rot_factor or config.scale_factor or config.shear or config.translate:
        example = random_perspective(example, rng, config)
    if config.hsv_h or config.hsv_s or config.hsv_v:
        example.image = augment_hsv(example.image, rng, config)
    if rng.random() < config.fliplr:
        example = flip_horizontal(example)
    return example
