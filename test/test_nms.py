"""NMS against a plain greedy reference."""

from __future__ import annotations

import numpy as np
import pytest

from hybridnets_core.nms import batched_nms, box_iou, nms


def iou_row(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one box with many, written out independently of the library."""
    width = np.maximum(0, np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]))
    height = np.maximum(0, np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]))
    inter = width * height
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / (area + areas - inter)


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
