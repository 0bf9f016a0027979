"""Vectorised greedy non-maximum suppression (exactly the classic greedy result, no torchvision).

Candidates are visited in score order in chunks: a chunk is first filtered against the boxes
already kept, then resolved internally by iterating "keep j unless a kept i < j overlaps it"
to its fixed point, which equals the sequential greedy answer. Work stops as soon as
`max_output` boxes are kept, so low thresholds over tens of thousands of anchors stay cheap.
"""

from __future__ import annotations

import numpy as np

CHUNK_SIZE = 512


def _intersection_union(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise intersection and union areas [len(a), len(b)] of (x1, y1, x2, y2) boxes."""
    inter_w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    inter_h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    np.clip(inter_w, 0, None, out=inter_w)
    np.clip(inter_h, 0, None, out=inter_h)
    inter = inter_w * inter_h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter, area_a[:, None] + area_b[None, :] - inter


def pairwise_overlaps(a: np.ndarray, b: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Boolean [len(a), len(b)]: IoU(a_i, b_j) > iou_threshold, without dividing."""
    inter, union = _intersection_union(a, b)
    return inter > iou_threshold * union


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix [len(a), len(b)] for (x1, y1, x2, y2) boxes."""
    inter, union = _intersection_union(a, b)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _resolve_chunk(overlaps: np.ndarray) -> np.ndarray:
    """Greedy keep-mask for score-sorted boxes given their pairwise overlap matrix."""
    later = np.triu(overlaps, k=1)
    keep = np.ones(len(overlaps), dtype=bool)
    while True:
        updated = ~(later & keep[:, None]).any(axis=0)
        if np.array_equal(updated, keep):
            return keep
        keep = updated


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
    max_output: int | None = None,
) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, highest score first."""
    order = np.argsort(-scores, kind="stable")
    limit = len(order) if max_output is None else max_output
    kept: list[np.ndarray] = []
    kept_boxes = np.empty((0, 4), dtype=boxes.dtype)
    for start in range(0, len(order), CHUNK_SIZE):
        if len(kept_boxes) >= limit:
            break
        chunk = order[start : start + CHUNK_SIZE]
        chunk_boxes = boxes[chunk]
        if len(kept_boxes):
            alive = ~pairwise_overlaps(kept_boxes, chunk_boxes, iou_threshold).any(axis=0)
            chunk, chunk_boxes = chunk[alive], chunk_boxes[alive]
        keep = _resolve_chunk(pairwise_overlaps(chunk_boxes, chunk_boxes, iou_threshold))
        kept.append(chunk[keep])
        kept_boxes = np.concatenate([kept_boxes, chunk_boxes[keep]])
    indices = np.concatenate(kept) if kept else np.empty(0, dtype=np.int64)
    return indices[:limit]


def batched_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    iou_threshold: float,
    max_output: int | None = None,
) -> np.ndarray:
    """Class-wise NMS: boxes of different classes never suppress each other."""
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    span = float(boxes.max() - min(boxes.min(), 0.0)) + 1.0
    shifted = boxes + (class_ids.astype(boxes.dtype) * span)[:, None]
    return nms(shifted, scores, iou_threshold, max_output)
