"""NMS against a plain O(n^2) greedy reference: random boxes, anchor boxes, ties, classes."""

from __future__ import annotations

import numpy as np
import pytest

from hybridnets_core.decoding.boxes import box_iou, decode_boxes
from hybridnets_core.decoding.nms import SPARSE_AFTER, batched_nms, nms
from hybridnets_core.errors import ConfigError
from hybridnets_core.model.anchors import generate_anchors


def iou_row(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one box with many, written out independently of the library (0 without area)."""
    width = np.maximum(0, np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]))
    height = np.maximum(0, np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]))
    inter = width * height
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)  # 0 if no area


def greedy_reference(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Textbook greedy NMS, one box at a time."""
    kept: list[int] = []
    for index in np.argsort(-scores, kind="stable"):
        if not kept or iou_row(boxes[index], boxes[kept]).max() <= threshold:
            kept.append(int(index))
    return kept


def test_box_iou_matches_reference() -> None:
    boxes, _ = random_boxes(np.random.default_rng(3), 50)
    matrix = box_iou(boxes, boxes)
    for row, box in enumerate(boxes):
        np.testing.assert_allclose(matrix[row], iou_row(box, boxes), rtol=1e-5, atol=1e-6)


def random_boxes(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    corner = rng.uniform(0, 300, (count, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(4, 80, (count, 2))], axis=1)
    return boxes.astype(np.float32), rng.random(count).astype(np.float32)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threshold", [0.3, 0.6])
def test_nms_equals_greedy_reference(seed: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    boxes, scores = random_boxes(rng, int(rng.integers(300, 1500)))
    assert nms(boxes, scores, threshold).tolist() == greedy_reference(boxes, scores, threshold)


@pytest.mark.parametrize("seed", range(4))
def test_batched_nms_is_per_class(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    boxes, scores = random_boxes(rng, 600)
    classes = rng.integers(0, 3, len(boxes))
    kept = set(batched_nms(boxes, scores, classes, 0.5).tolist())
    expected = set()
    for label in range(3):
        members = np.flatnonzero(classes == label)
        expected |= {
            int(members[i]) for i in greedy_reference(boxes[members], scores[members], 0.5)
        }
    assert kept == expected


def test_max_output_is_prefix_of_full_result() -> None:
    boxes, scores = random_boxes(np.random.default_rng(7), 2000)
    full = nms(boxes, scores, 0.5)
    assert nms(boxes, scores, 0.5, max_output=37).tolist() == full[:37].tolist()


def test_empty_input() -> None:
    empty = np.empty((0, 4), np.float32)
    assert batched_nms(empty, np.empty(0, np.float32), np.empty(0, np.int64), 0.5).size == 0


def anchor_boxes(rng: np.random.Generator, height: int, width: int, spread: float) -> np.ndarray:
    """Boxes decoded from the real anchors with random deltas, clipped like postprocess."""
    anchors = generate_anchors(height, width, [8, 16, 32, 64, 128])
    deltas = rng.normal(0, spread, anchors.shape).astype(np.float32)
    boxes = decode_boxes(deltas, anchors)
    np.clip(boxes[:, 0::2], 0, width - 1, out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0, height - 1, out=boxes[:, 1::2])
    return boxes.astype(np.float32)


def batched_reference(boxes, scores, classes, threshold) -> list[int]:
    """Greedy per class, merged back into global score order (ties: lower index)."""
    kept: list[int] = []
    for label in np.unique(classes):
        members = np.flatnonzero(classes == label)
        kept += [
            int(members[i]) for i in greedy_reference(boxes[members], scores[members], threshold)
        ]
    return sorted(kept, key=lambda i: (-scores[i], i))


@pytest.mark.parametrize(
    ("threshold", "spread"), [(0.3, 0.4), (0.6, 0.05), (0.6, 0.4), (0.9, 0.05)]
)
def test_anchor_boxes_with_ties_and_classes_equal_reference(
    threshold: float, spread: float
) -> None:
    """Thousands of anchor-like boxes (enough kept to leave the dense phase), tied scores."""
    rng = np.random.default_rng(int(threshold * 100 + spread * 10))
    boxes = anchor_boxes(rng, 128, 256, spread)
    scores = np.round(rng.random(len(boxes)), 2).astype(np.float32)  # many exact ties
    classes = rng.integers(0, 3, len(boxes))
    expected = batched_reference(boxes, scores, classes, threshold)
    assert len(expected) > SPARSE_AFTER
    assert batched_nms(boxes, scores, classes, threshold).tolist() == expected
    capped = batched_nms(boxes, scores, classes, threshold, max_output=1500)
    assert capped.tolist() == expected[:1500]


def test_clustered_boxes_equal_reference() -> None:
    """Trained-model-like: dense clusters around a few objects, only a few kept."""
    rng = np.random.default_rng(11)
    objects = rng.uniform(0, 300, (12, 2))
    objects = np.hstack([objects, objects + rng.uniform(20, 120, (12, 2))])
    boxes = objects[rng.integers(0, 12, 3000)] + rng.normal(0, 4, (3000, 4))
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    boxes, scores = boxes.astype(np.float32), rng.random(3000).astype(np.float32)
    assert nms(boxes, scores, 0.6).tolist() == greedy_reference(boxes, scores, 0.6)


def test_degenerate_boxes_and_thresholds() -> None:
    boxes = np.float32([[0, 0, 10, 10], [0, 0, 10, 10], [5, 5, 5, 9], [5, 5, 5, 9], [3, 3, 1, 1]])
    scores = np.float32([0.9, 0.8, 0.7, 0.6, 0.5])
    # zero-width and inverted boxes overlap nothing; an exact duplicate goes
    assert nms(boxes, scores, 0.5).tolist() == [0, 2, 3, 4]
    assert nms(boxes, scores, 1.0).tolist() == [0, 1, 2, 3, 4]  # IoU never exceeds 1
    assert nms(boxes, scores, 0.5, max_output=0).size == 0
    with pytest.raises(ConfigError, match="iou_threshold"):
        nms(boxes, scores, 0.0)
