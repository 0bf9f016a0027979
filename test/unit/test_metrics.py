"""Validation metrics: hand-computed cases for each protocol, independent re-implementations,
and the streamed statistics against the exact per-detection computation."""

from __future__ import annotations

import numpy as np
import pytest

from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.evaluation import (
    PROTOCOLS,
    DetectionAccumulator,
    SegmentationAccumulator,
    balanced_accuracy,
    interpolated_ap,
    iou,
    match_detections,
    match_detections_paper,
)
from hybridnets_core.evaluation.average_precision import average_precision
from hybridnets_core.evaluation.detection import confusion_update

TRAPEZOID = getattr(np, "trapezoid", None) or np.trapz  # numpy >= 2.0 / 1.x


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
    acc = DetectionAccumulator(num_classes=2, protocol="coco")
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
    images, acc = [], DetectionAccumulator(num_classes=2, protocol="coco")
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


def test_paper_ap_trapezoid_with_sentinels_by_hand() -> None:
    # hits 1,0,1 of 2 boxes: envelope 1 below recall 0.5, at 0.5 the last point's 2/3, 2/3 up
    # to recall 1, where the sentinel (1, 0) is the last point; trapezoid over steps of 0.01
    expected = (49 + (1 + 2 / 3) / 2 + 49 * 2 / 3 + (2 / 3) / 2) / 100
    assert average_precision(np.array([True, False, True]), 2, "paper") == pytest.approx(expected)
    # a perfect detector: 1 everywhere except the sentinel's 0 at recall 1
    assert average_precision(np.array([True]), 1, "paper") == pytest.approx(0.995)
    # a false positive first: the last point at recall 0 is that detection (envelope 1/2)
    assert average_precision(np.array([False, True]), 1, "paper") == pytest.approx(0.4975)
    # half the boxes found: 1 up to recall 0.5, then linear down to the sentinel (1, 0)
    assert average_precision(np.array([True]), 2, "paper") == pytest.approx(0.5 + 0.25)
    assert average_precision(np.zeros(0, bool), 3, "paper") == 0.0
    assert np.isnan(average_precision(np.array([False]), 0, "paper"))


def _matching_scene() -> tuple[np.ndarray, ...]:
    """Three labels; four detections in score order (IoUs worked out in the test)."""
    gt = np.float32([[0, 0, 10, 10], [4, 0, 14, 10], [30, 0, 40, 10]])
    boxes = np.float32([[0, 0, 10, 10], [1, 0, 11, 10], [30, 0, 40, 8], [30, 0, 40, 10]])
    return boxes, np.float32([0.9, 0.8, 0.7, 0.6]), np.zeros(4, int), gt, np.zeros(3, int)


def test_paper_one_pass_matching_differs_from_coco_by_hand() -> None:
    boxes, scores, classes, gt, gt_classes = _matching_scene()
    # d0: IoU 1 with g0, 60/140 with g1. d1: 90/110 = 0.82 with g0, 70/130 = 0.54 with g1.
    # d2: 0.8 with g2. d3: 1.0 with g2.
    thresholds = np.linspace(0.5, 0.95, 10)
    up_to_08 = thresholds <= 0.8 + 1e-9
    paper = match_detections_paper(boxes, scores, classes, gt, gt_classes)
    # paper: d1 claims its best label g0, which d0 keeps -> d1 unmatched although g1 is free;
    # d2 and d3 claim g2, d2 scores higher and keeps it; correct while 0.8 >= t
    assert paper.tolist() == [[True] * 10, [False] * 10, up_to_08.tolist(), [False] * 10]
    coco = match_detections(boxes, scores, classes, gt, gt_classes)
    # coco: d1 takes the free g1 at t = 0.5 only; above 0.8 d2 misses g2 and d3 takes it
    assert coco.tolist() == [
        [True] * 10,
        [True] + [False] * 9,
        up_to_08.tolist(),
        (~up_to_08).tolist(),
    ]
    results = {}
    for protocol in PROTOCOLS:
        acc = DetectionAccumulator(1, protocol=protocol)
        acc.update(boxes, scores, classes, gt, gt_classes)
        results[protocol] = acc.compute(["car"])
    # paper AP50 of hits 1,0,1,0 of 3 labels: 1 below recall 1/3, 2/3 up to recall 2/3, then
    # the last point (2/3, 1/2) linear down to (1, 0): 1.5 (1 - x)
    expected = (33 + (1 + 2 / 3) / 2 + 32 * 2 / 3 + (2 / 3 + 1.5 * 0.33) / 2) / 100
    expected += 1.5 * 0.33**2 / 2
    assert results["paper"]["mAP50"] == pytest.approx(expected)
    assert (results["paper"]["recall"], results["paper"]["precision"]) == (2 / 3, 0.5)
    assert results["coco"]["mAP50"] == pytest.approx(1.0)  # hits 1,1,1,0: precision 1 to recall 1
    assert (results["coco"]["recall"], results["coco"]["precision"]) == (1.0, 0.75)
    assert results["paper"]["protocol"] == "paper" and results["paper"]["ap_error_bound"] == 0


def test_confusion_protocols_by_hand() -> None:
    square = np.float32([[0, 0, 10, 10]])
    far = np.float32([[50, 50, 60, 60]])
    images = [
        # IoU 0.47 (between 0.45 and 0.5); a second detection at exactly 0.25
        (np.vstack([np.float32([[0, 0, 10, 4.7]]), far]), [0.9, 0.25], [0, 1], square, [0]),
        (far, [0.9], [1], square, [0]),  # no pair in the image
        # class mix-up at IoU 1, a second label missed, a far false positive
        (np.vstack([square, far]), [0.8, 0.7], [1, 0], np.vstack([square, square + 20]), [0, 1]),
        (square, [0.9], [0], np.zeros((0, 4), np.float32), []),  # no labels
    ]
    matrices = {}
    for protocol in PROTOCOLS:
        acc = DetectionAccumulator(2, protocol=protocol)
        for boxes, scores, classes, gt, gt_classes in images:
            acc.update(boxes, np.float32(scores), np.array(classes), gt, np.array(gt_classes, int))
        matrices[protocol] = acc.compute(["a", "b"])["confusion"].tolist()
    # rows predicted (a, b, background), columns true. paper: score > 0.25, IoU > 0.45; a
    # detection unmatched in an image without any match, or in an image without labels,
    # is not counted
    assert matrices["paper"] == [[1, 0, 1], [1, 0, 0], [1, 1, 0]]
    # coco: score >= 0.25, IoU >= 0.5, every unmatched detection and label counted
    assert matrices["coco"] == [[0, 0, 3], [1, 0, 2], [2, 1, 0]]


def random_images(
    rng: np.random.Generator,
    count: int,
    detections: int,
    label_classes: list[int],
    detection_classes: list[int],
    decimals: int | None = None,
) -> list[tuple]:
    """Images with labels of `label_classes` and detections of `detection_classes`, near the
    labels or anywhere; scores rounded to `decimals` make ties."""
    images = []
    for _ in range(count):
        labels = int(rng.integers(0, 7))
        corner = rng.uniform(0, 150, (labels, 2))
        gt = np.float32(np.hstack([corner, corner + rng.uniform(8, 60, (labels, 2))]))
        gt_classes = rng.choice(label_classes, labels)
        size = int(rng.integers(0, detections))
        boxes = rng.uniform(0, 200, (size, 2))
        boxes = np.hstack([boxes, boxes + rng.uniform(8, 60, (size, 2))])
        if labels:
            near = gt[rng.integers(0, labels, size)] + rng.normal(0, 4, (size, 4))
            boxes = np.where(rng.random((size, 1)) < 0.7, near, boxes)
        boxes = np.float32(boxes)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        scores = rng.random(size)
        scores = np.float32(np.round(scores, decimals) if decimals is not None else scores)
        images.append((boxes, scores, rng.choice(detection_classes, size), gt, gt_classes))
    return images


def loop_paper_metrics(images: list[tuple], num_classes: int) -> dict[int, tuple]:
    """The paper's definitions with plain loops: per class (AP per threshold, P, R)."""
    thresholds = [0.5 + 0.05 * i for i in range(10)]
    grid = np.linspace(0, 1, 101).tolist()  # the definition's 101 recall points

    def box_iou_one(a, b) -> float:
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = float(w) * float(h)
        union = float((a[2] - a[0]) * (a[3] - a[1])) + float((b[2] - b[0]) * (b[3] - b[1]))
        return inter / (union - inter)

    rows, labels, arrival = [], [0] * num_classes, 0
    for boxes, scores, classes, gt, gt_classes in images:
        for g in gt_classes:
            labels[g] += 1
        claim = []
        for d in range(len(boxes)):
            best, best_iou = None, 0.0
            for g in range(len(gt)):
                if gt_classes[g] != classes[d]:
                    continue
                value = box_iou_one(boxes[d], gt[g])
                if value >= 0.5 and (best is None or value > best_iou):
                    best, best_iou = g, value
            claim.append((best, best_iou))
        winner = {}
        for d, (g, _) in enumerate(claim):
            if g is not None and (g not in winner or scores[d] > scores[winner[g]]):
                winner[g] = d
        for d in range(len(boxes)):
            g, value = claim[d]
            won = g is not None and winner[g] == d
            rows.append((float(scores[d]), arrival, int(classes[d]),
                         [won and value >= t for t in thresholds]))  # fmt: skip
            arrival += 1
    results = {}
    for cls in range(num_classes):
        if not labels[cls]:
            continue
        mine = sorted((r for r in rows if r[2] == cls), key=lambda r: (-r[0], r[1]))
        if not mine:
            results[cls] = ([0.0] * 10, 0.0, 0.0)
            continue
        aps = []
        for t in range(10):
            recall, precision, tp = [0.0], [1.0], 0
            for rank, row in enumerate(mine, 1):
                tp += row[3][t]
                recall.append(tp / labels[cls])
                precision.append(tp / rank)
            recall.append(1.0)
            precision.append(0.0)
            for i in range(len(precision) - 2, -1, -1):
                precision[i] = max(precision[i], precision[i + 1])
            values, i = [], 0
            for x in grid:
                while i + 1 < len(recall) and recall[i + 1] <= x:
                    i += 1
                if i + 1 == len(recall):
                    values.append(precision[i])
                else:
                    slope = (precision[i + 1] - precision[i]) / (recall[i + 1] - recall[i])
                    values.append(precision[i] + slope * (x - recall[i]))
            aps.append(sum((values[k] + values[k + 1]) / 2 * 0.01 for k in range(100)))
        found = sum(row[3][0] for row in mine)
        results[cls] = (aps, found / labels[cls], found / len(mine))
    return results


def test_paper_protocol_matches_independent_loops() -> None:
    rng = np.random.default_rng(7)
    images = random_images(rng, 30, 40, [0, 1, 2], [0, 2, 3], decimals=2)
    acc = DetectionAccumulator(4)
    for image in images:
        acc.update(*image)
    names = ["a", "b", "c", "d"]
    metrics = acc.compute(names)
    expected = loop_paper_metrics(images, 4)
    assert set(expected) == {0, 1, 2}  # d has no labels; b has labels but no detections
    assert expected[1] == ([0.0] * 10, 0.0, 0.0)
    for cls, (aps, recall, precision) in expected.items():
        row = metrics["per_class"][names[cls]]
        assert row["AP50"] == pytest.approx(aps[0], abs=1e-6)
        assert row["AP50_95"] == pytest.approx(np.mean(aps), abs=1e-6)
        assert row["recall"] == pytest.approx(recall, abs=1e-12)
        assert row["precision"] == pytest.approx(precision, abs=1e-12)
    assert np.isnan(metrics["per_class"]["d"]["AP50"])
    assert metrics["mAP50"] == pytest.approx(np.mean([e[0][0] for e in expected.values()]))
    assert metrics["mAP50_95"] == pytest.approx(np.mean([np.mean(e[0]) for e in expected.values()]))
    assert 0.1 < metrics["per_class"]["a"]["AP50"] < 0.9
    assert metrics["ap_error_bound"] == 0.0


def exact_paper_ap(images: list[tuple], cls: int) -> np.ndarray:
    """Per-detection computation (all boxes kept): stable score sort, sentinels, envelope,
    np.interp at 101 points, trapezoid; AP per threshold."""
    scores = np.concatenate([image[1] for image in images])
    classes = np.concatenate([image[2] for image in images])
    hits = np.concatenate([match_detections_paper(*image) for image in images])
    labels = sum(int((image[4] == cls).sum()) for image in images)
    order = np.argsort(-scores, kind="stable")
    mine = hits[order][classes[order] == cls].astype(float)
    points = np.linspace(0, 1, 101)
    aps = []
    for column in mine.T:
        true_pos = np.cumsum(column)
        recall = np.concatenate([[0], true_pos / labels, [1]])
        precision = np.concatenate([[1], true_pos / np.arange(1, len(column) + 1), [0]])
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        aps.append(TRAPEZOID(np.interp(points, recall, envelope), points))
    return np.array(aps)


@pytest.mark.parametrize(("decimals", "tolerance"), [(4, 1e-4), (2, None)])
def test_streamed_equals_exact_with_ties(decimals: int, tolerance: float | None) -> None:
    """Only 200 detections per class stay exact, the rest (thousands) go to the score grid.
    Scores on a 1e-4 grid tie often and still agree within 1e-4; on a 0.01 grid the groups
    are large and the reported bound still holds."""
    rng = np.random.default_rng(decimals)
    images = random_images(rng, 120, 120, [0, 1], [0, 1], decimals=decimals)
    streamed = DetectionAccumulator(2, exact_top=200)
    exact = DetectionAccumulator(2)
    for image in images:
        streamed.update(*image)
        exact.update(*image)
    names = ["a", "b"]
    result, reference = streamed.compute(names), exact.compute(names)
    bound = result["ap_error_bound"]
    assert reference["ap_error_bound"] == 0.0 and bound > 0
    for cls, name in enumerate(names):
        aps = exact_paper_ap(images, cls)
        assert reference["per_class"][name]["AP50"] == pytest.approx(aps[0], abs=1e-12)
        assert reference["per_class"][name]["AP50_95"] == pytest.approx(aps.mean(), abs=1e-12)
        for key, value in (("AP50", aps[0]), ("AP50_95", aps.mean())):
            error = abs(result["per_class"][name][key] - value)
            assert error <= bound + 1e-12
            if tolerance is not None:
                assert error <= tolerance
        for key in ("recall", "precision"):
            assert result["per_class"][name][key] == reference["per_class"][name][key]
    assert result["detections"] == reference["detections"] > 5000
    assert result["best_f1"] == reference["best_f1"]
    np.testing.assert_allclose(result["pr_curves"], reference["pr_curves"], atol=0.05)


def test_memory_does_not_grow_with_images() -> None:
    rng = np.random.default_rng(3)
    acc = DetectionAccumulator(3, exact_top=100)
    grid = acc.matches.counts.shape
    for image in random_images(rng, 60, 200, [0, 1, 2], [0, 1, 2]):
        acc.update(*image)
        assert acc.matches.pending_size <= acc.exact_top
        assert all(len(scores) <= acc.exact_top for scores, _, _ in acc.matches.top)
        assert acc.matches.counts.shape == grid
    assert acc.compute(["a", "b", "c"])["detections"] == acc.matches.arrivals > 5000


def test_bad_input_and_unknown_protocol() -> None:
    with pytest.raises(ConfigError, match="protocol"):
        DetectionAccumulator(2, protocol="voc")
    acc = DetectionAccumulator(2)
    box = np.float32([[0, 0, 1, 1]])
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        acc.update(box, np.float32([1.5]), np.array([0]), box, np.array([0]))
    with pytest.raises(InputError, match="class ids"):
        acc.update(box, np.float32([0.5]), np.array([2]), box, np.array([0]))


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
