"""Box maths shared by decoding, NMS, tracking, evaluation and messages (numpy only).

Boxes are (x1, y1, x2, y2) unless named otherwise; anchors are (y1, x1, y2, x2) as the
official network orders them, and regression deltas are (dy, dx, dh, dw).
"""

from __future__ import annotations

import numpy as np


def box_geometry(boxes: np.ndarray) -> np.ndarray:
    """(centre x, centre y, width, height) [N, 4] of (x1, y1, x2, y2) boxes [N, 4], same dtype."""
    size = boxes[:, 2:] - boxes[:, :2]
    return np.concatenate([boxes[:, :2] + 0.5 * size, size], axis=1)


def geometry_to_boxes(geometry: np.ndarray) -> np.ndarray:
    """Inverse of `box_geometry`: (x1, y1, x2, y2) [N, 4] of (cx, cy, w, h) [N, 4]."""
    half = 0.5 * geometry[:, 2:]
    return np.concatenate([geometry[:, :2] - half, geometry[:, :2] + half], axis=1)


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


def intersection_union(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise intersection and union areas [len(a), len(b)] of (x1, y1, x2, y2) boxes."""
    inter_w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    inter_h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    np.clip(inter_w, 0, None, out=inter_w)
    np.clip(inter_h, 0, None, out=inter_h)
    inter = inter_w * inter_h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter, area_a[:, None] + area_b[None, :] - inter


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix [len(a), len(b)] for (x1, y1, x2, y2) boxes."""
    inter, union = intersection_union(a, b)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
