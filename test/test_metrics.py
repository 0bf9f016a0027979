"""Validation metrics: hand-computed cases for each, and AP against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest

from hybridnets_core.evaluation import (
    DetectionAccumulator,
    SegmentationAccumulator,
    balanced_accuracy,
    interpolated_ap,
    iou,
    match_detections,
)
from hybridnets_core.evaluation.detection import confusion_update


def test_matching_by_hand() -> None:
    gt = np.float32([[0, 0, 10, 10], [20, 0, 30, 10]])
    boxes = np.float32([[0, 0, 10, 8], [0, 0, 10, 10], [20, 0, 30, 5], [50, 50, 60, 60]])
    scores = np.float32([0.9, 0.8, 0.7, 0.6])
    hits = match_detections(boxes, scores, np.zeros(4, int), gt, np.zeros(2, int))
    # box 0 (IoU 0.8) takes gt 0 up to 0.80; above that box 1 (IoU 1.0) gets it instead
    thresholds = np.linspace(0.5, 0.95, 10)
    assert hits[0].tolist() == (thresholds <= 0.8 + 1e-9).tolist()
    assert hits[1].tolist() == (thresholds > 0.8 + 1e-9).tolist()
    assert hits[2].tolist() == [True] + [False] * 9  # IoU 0.5 exactly
    assert not hits[3].any()
    other_class = match_detections(boxes, scores, np.ones(4, int), gt, np.zeros(2, int))
    assert not other_class.any()


def test_interpolated_ap_by_hand() -> None:
    # hits 1,0,1 of 2 boxes: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    # interpolated: 1.0 for the 51 recall points <= 0.5, 2/3 for the 50 above
    assert interpolated_ap(np.array([True, False, True]), 2) == pytest.approx((51 + 100 / 3) / 101)
    assert interpolated_ap(np.array([False, True]), 1) == pytest.approx(0.5)
    assert interpolated_ap(np.array([True]), 2) == pytest.approx(51 / 101)
    assert interpolated_ap(np.zeros(0, bool), 3) == 0.0
    assert np.isnan(interpolated_ap(np.array([False]), 0))


def test_recall_precision_and_per_class_by_hand() -> None:
    acc = DetectionAccumulator(num_classes=2)
    gt = np.float32([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]])
    acc.update(
        np.float32([[0, 0, 10, 10], [40, 0, 50, 10], [60, 0, 70, 10]]),
        np.float32([0.9, 0.5, 0.3]),
        np.array([0, 1, 0]),
        gt,
        np.array([0, 0, 1]),
    )
    acc.update(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int),
               np.float32([[5, 5, 9, 9]]), np.array([1]))  # fmt: skip
    metrics = acc.compute(["car", "bus"])
    car, bus = metrics["per_class"]["car"], metrics["per_class"]["bus"]
    assert (car["boxes"], bus["boxes"]) == (2, 2)
    assert car["recall"] == 0.5 and bus["recall"] == 0.5  # end of the PR curve
    assert car["precision"] == 0.5 and bus["precision"] == 1.0
    assert car["AP50"] == pytest.approx(51 / 101) and bus["AP50"] == pytest.approx(51 / 101)
    assert metrics["mAP50"] == pytest.approx(51 / 101)
    assert metrics["recall"] == 0.5 and metrics["precision"] == 0.75
    assert metrics["detections"] == 3
    # mean F1 over classes is highest once the car at 0.3 is cut: car 1/1, bus 1/1 precision
    best = metrics["best_f1"]
    assert 0.3 < best["conf"] <= 0.5
    assert (best["precision"], best["recall"]) == (1.0, 0.5) and best["f1"] == pytest.approx(2 / 3)
    # confusion at conf >= 0.25: car->car, bus->bus, one car false positive, two missed boxes
    assert metrics["confusion"].tolist() == [[1, 0, 1], [0, 1, 0], [1, 1, 0]]


def test_confusion_counts_class_mixups() -> None:
    matrix = np.zeros((3, 3), dtype=np.int64)
    gt = np.float32([[0, 0, 10, 10]])
    confusion_update(matrix, np.float32([[0, 0, 10, 10]]), np.array([1]), gt, np.array([0]))
    assert matrix.tolist() == [[0, 0, 0], [1, 0, 0], [0, 0, 0]]


def _independent_ap(images: list[tuple], threshold: float, cls: int) -> float:
    """Plain loops: greedy matching in global score order, AP by its definition."""
    rows, num_gt = [], 0
    for boxes, scores, classes, gt, gt_classes in images:
        num_gt += int((gt_classes == cls).sum())
        used = set()
        for d in sorted(range(len(boxes)), key=lambda i: -scores[i]):
            if classes[d] != cls:
                continue
            best, best_iou = None, threshold
            for g in range(len(gt)):
                if gt_classes[g] != cls or g in used:
                    continue
                x1, y1 = max(boxes[d][0], gt[g][0]), max(boxes[d][1], gt[g][1])
                x2, y2 = min(boxes[d][2], gt[g][2]), min(boxes[d][3], gt[g][3])
                inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
                area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
                value = inter / (area(boxes[d]) + area(gt[g]) - inter)
                if value >= best_iou:
                    best, best_iou = g, value
            if best is not None:
                used.add(best)
            rows.append((scores[d], best is not None))
    rows.sort(key=lambda r: -r[0])
    tp = 0
    recall, precision = [], []
    for rank, (_, hit) in enumerate(rows, 1):
        tp += hit
        recall.append(tp / num_gt)
        precision.append(tp / rank)
    total = 0.0
    for r in np.linspace(0, 1, 101):
        reachable = [p for p, rc in zip(precision, recall) if rc >= r]
        total += max(reachable) if reachable else 0.0
    return total / 101


def test_ap_on_random_detections_matches_independent_computation() -> None:
    rng = np.random.default_rng(42)
    images, acc = [], DetectionAccumulator(num_classes=2)
    for _ in range(12):
        count = rng.integers(1, 6)
        gt = rng.uniform(0, 80, (count, 2))
        gt = np.float32(np.hstack([gt, gt + rng.uniform(8, 40, (count, 2))]))
        gt_classes = rng.integers(0, 2, count)
        near = gt[rng.integers(0, count, 8)] + rng.normal(0, 4, (8, 4))
        far = rng.uniform(0, 100, (4, 2))
        boxes = np.float32(np.vstack([near, np.hstack([far, far + 20])]))
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        scores = np.float32(rng.uniform(0, 1, len(boxes)))
        classes = rng.integers(0, 2, len(boxes))
        images.append((boxes, scores, classes, gt, gt_classes))
        acc.update(boxes, scores, classes, gt, gt_classes)
    metrics = acc.compute(["a", "b"])
    thresholds = np.linspace(0.5, 0.95, 10)
    for cls, name in enumerate(["a", "b"]):
        expected = [_independent_ap(images, t, cls) for t in thresholds]
        assert metrics["per_class"][name]["AP50"] == pytest.approx(expected[0], abs=1e-9)
        assert metrics["per_class"][name]["AP50_95"] == pytest.approx(np.mean(expected), abs=1e-9)
        assert 0 < expected[0] < 1


def test_iou_and_balanced_accuracy_by_hand() -> None:
    pred = np.array([1, 1, 0, 0, 0, 0, 0, 0], bool)
    truth = np.array([1, 0, 1, 0, 0, 0, 0, 0], bool)
    assert iou(pred, truth) == pytest.approx(1 / 3)
    # sensitivity 1/2, specificity 5/6
    assert balanced_accuracy(pred, truth) == pytest.approx((1 / 2 + 5 / 6) / 2)
    empty = np.zeros(8, bool)
    assert iou(empty, empty) == 1.0 and balanced_accuracy(empty, empty) == 1.0
    assert balanced_accuracy(pred, empty) == pytest.approx((1 + 6 / 8) / 2)


def test_segmentation_protocols_by_hand() -> None:
    """4x6 network map, columns 0 and 5 are letterbox padding (background in both)."""
    truth = np.zeros((2, 4, 6), bool)
    truth[0, 2:, 1:5] = True  # road: 8 pixels
    truth[1, 1, 2:4] = True  # lane: 2 pixels
    pred = np.zeros((2, 4, 6), bool)
    pred[0, 3, 1:5] = True  # road: 4 pixels, all right
    pred[1, 1, 1:3] = True  # lane: 2 pixels, 1 right
    acc = SegmentationAccumulator(["road", "lane"], "multiclass")
    acc.update(pred, truth, (slice(0, 4), slice(1, 5)))
    result = acc.compute()
    paper, inner = result["paper"], result["no_padding"]
    # background = neither class; truth 14 of 24, pred 18; overlap 13 -> IoU 13/19
    assert paper["drivable_miou"] == pytest.approx((13 / 19 + 4 / 8) / 2)
    # without padding: truth 6 of 16, pred 10, overlap 5 -> IoU 5/11
    assert inner["drivable_miou"] == pytest.approx((5 / 11 + 4 / 8) / 2)
    assert paper["lane_iou"] == inner["lane_iou"] == pytest.approx(1 / 3)
    assert paper["lane_accuracy"] == pytest.approx((1 / 2 + 21 / 22) / 2)
    assert inner["lane_accuracy"] == pytest.approx((1 / 2 + 13 / 14) / 2)
    acc.update(truth, truth, (slice(0, 4), slice(1, 5)))
    assert acc.compute()["paper"]["lane_iou"] == pytest.approx((1 / 3 + 1) / 2)


def test_binary_drivable_background_is_the_complement() -> None:
    truth = np.zeros((1, 2, 2), bool)
    truth[0, 0] = True
    pred = np.ones((1, 2, 2), bool)
    acc = SegmentationAccumulator(["road"], "binary")
    acc.update(pred, truth, (slice(0, 2), slice(0, 2)))
    assert acc.compute()["paper"]["drivable_miou"] == pytest.approx((0 + 0.5) / 2)
    assert "lane_iou" not in acc.compute()["paper"]
