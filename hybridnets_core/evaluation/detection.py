"""Streaming detection metrics: COCO-style matching, 101-point AP, recall and precision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..nms import box_iou

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
CONFUSION_CONF = 0.25
CONF_GRID = np.linspace(0.0, 1.0, 1001)
CONFUSION_IOU = 0.5


def match_detections(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    gt_boxes: np.ndarray,
    gt_classes: np.ndarray,
    thresholds: np.ndarray = IOU_THRESHOLDS,
) -> np.ndarray:
    """True-positive flags [D, T]: in score order each detection takes the unmatched box of its
    class with the highest IoU >= threshold, separately for every IoU threshold."""
    hits = np.zeros((len(boxes), len(thresholds)), dtype=bool)
    if not len(boxes) or not len(gt_boxes):
        return hits
    iou = box_iou(boxes.astype(np.float64), gt_boxes.astype(np.float64))
    iou[classes[:, None] != gt_classes[None, :]] = -1.0
    taken = np.zeros((len(thresholds), len(gt_boxes)), dtype=bool)
    rows = np.arange(len(thresholds))
    for det in np.argsort(-scores, kind="stable"):
        candidates = (iou[det][None, :] >= thresholds[:, None]) & ~taken
        best = np.where(candidates, iou[det][None, :], -1.0).argmax(axis=1)
        found = candidates[rows, best]
        hits[det] = found
        taken[rows[found], best[found]] = True
    return hits


def precision_envelope(hits_sorted: np.ndarray, num_gt: int) -> np.ndarray:
    """Interpolated precision at the 101 recall points: the best precision at recall >= r,
    0 where r is never reached (the PR curve that AP averages)."""
    values = np.zeros(len(RECALL_POINTS))
    if num_gt == 0 or not len(hits_sorted):
        return values
    true_pos = np.cumsum(hits_sorted)
    recall = true_pos / num_gt
    envelope = np.maximum.accumulate((true_pos / np.arange(1, len(true_pos) + 1))[::-1])[::-1]
    index = np.searchsorted(recall, RECALL_POINTS, side="left")
    reached = index < len(recall)
    values[reached] = envelope[index[reached]]
    return values


def interpolated_ap(hits_sorted: np.ndarray, num_gt: int) -> float:
    """101-point interpolated AP of score-sorted hit flags; NaN without ground truth."""
    if num_gt == 0:
        return float("nan")
    return float(precision_envelope(hits_sorted, num_gt).mean())


def best_f1_point(
    scores: np.ndarray, classes: np.ndarray, hits: np.ndarray, num_gt: np.ndarray
) -> dict[str, float]:
    """Score threshold maximising the class-mean F1 at IoU 0.5, with precision and recall
    there (an operating point; the paper-style figures are taken at the end of the curve)."""
    present = np.flatnonzero(num_gt > 0)
    precision = np.zeros((len(present), len(CONF_GRID)))
    recall = np.zeros_like(precision)
    for row, cls in enumerate(present):
        mine = classes == cls
        kept = np.searchsorted(-scores[mine], -CONF_GRID, side="right")
        true_pos = np.concatenate([[0], np.cumsum(hits[mine])])[kept]
        precision[row] = true_pos / np.maximum(kept, 1)
        recall[row] = true_pos / num_gt[cls]
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    best = int(f1.mean(axis=0).argmax()) if len(present) else 0
    return {
        "conf": float(CONF_GRID[best]),
        "precision": float(precision[:, best].mean()) if len(present) else float("nan"),
        "recall": float(recall[:, best].mean()) if len(present) else float("nan"),
        "f1": float(f1[:, best].mean()) if len(present) else float("nan"),
    }


def mean_over_present(values: np.ndarray, present: np.ndarray) -> float:
    """Mean over the classes that have ground-truth boxes (NaN when none has)."""
    return float(np.mean(values[present])) if present.any() else float("nan")


def confusion_update(
    matrix: np.ndarray,
    boxes: np.ndarray,
    classes: np.ndarray,
    gt_boxes: np.ndarray,
    gt_classes: np.ndarray,
) -> None:
    """Add one image to a (C+1)x(C+1) matrix [predicted, true]; index C is background.
    Pairs are matched one-to-one by descending IoU >= 0.5, regardless of class."""
    background = len(matrix) - 1
    iou = box_iou(boxes, gt_boxes) if len(boxes) and len(gt_boxes) else np.zeros((0, 0))
    used_pred = np.zeros(len(boxes), dtype=bool)
    used_gt = np.zeros(len(gt_boxes), dtype=bool)
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        det, gt = np.unravel_index(flat, iou.shape)
        if iou[det, gt] < CONFUSION_IOU:
            break
        if used_pred[det] or used_gt[gt]:
            continue
        used_pred[det] = used_gt[gt] = True
        matrix[classes[det], gt_classes[gt]] += 1
    np.add.at(matrix, (classes[~used_pred], background), 1)
    np.add.at(matrix, (background, gt_classes[~used_gt]), 1)


@dataclass
class DetectionAccumulator:
    """Per-detection rows (score, class, hit flags) and per-class box counts, image by image."""

    num_classes: int

    def __post_init__(self) -> None:
        self.scores: list[np.ndarray] = []
        self.classes: list[np.ndarray] = []
        self.hits: list[np.ndarray] = []
        self.num_gt = np.zeros(self.num_classes, dtype=np.int64)
        self.confusion = np.zeros((self.num_classes + 1,) * 2, dtype=np.int64)

    def update(
        self,
        boxes: np.ndarray,
        scores: np.ndarray,
        classes: np.ndarray,
        gt_boxes: np.ndarray,
        gt_classes: np.ndarray,
    ) -> None:
        """Add one image's detections and ground truth (same pixel frame)."""
        self.scores.append(scores.astype(np.float32))
        self.classes.append(classes.astype(np.int16))
        self.hits.append(match_detections(boxes, scores, classes, gt_boxes, gt_classes))
        self.num_gt += np.bincount(gt_classes, minlength=self.num_classes)[: self.num_classes]
        confident = scores >= CONFUSION_CONF
        confusion_update(self.confusion, boxes[confident], classes[confident], gt_boxes, gt_classes)

    def compute(self, class_names: list[str]) -> dict[str, Any]:
        """AP per class and IoU threshold; mAP50, mAP50-95, end-of-curve recall and precision."""
        scores = np.concatenate(self.scores) if self.scores else np.zeros(0, np.float32)
        classes = np.concatenate(self.classes) if self.classes else np.zeros(0, np.int16)
        hits = np.concatenate(self.hits) if self.hits else np.zeros((0, len(IOU_THRESHOLDS)), bool)
        order = np.argsort(-scores, kind="stable")
        scores, classes, hits = scores[order], classes[order], hits[order]
        ap = np.full((self.num_classes, len(IOU_THRESHOLDS)), np.nan)
        recall = np.full(self.num_classes, np.nan)
        precision = np.full(self.num_classes, np.nan)
        curves = np.zeros((self.num_classes, len(RECALL_POINTS)))
        for cls in range(self.num_classes):
            mine = hits[classes == cls]
            for t in range(len(IOU_THRESHOLDS)):
                ap[cls, t] = interpolated_ap(mine[:, t], int(self.num_gt[cls]))
            curves[cls] = precision_envelope(mine[:, 0], int(self.num_gt[cls]))
            if self.num_gt[cls]:
                recall[cls] = mine[:, 0].sum() / self.num_gt[cls]
                precision[cls] = mine[:, 0].mean() if len(mine) else 0.0
        present = self.num_gt > 0
        return {
            "mAP50": mean_over_present(ap[:, 0], present),
            "mAP50_95": mean_over_present(ap.mean(axis=1), present),
            "recall": mean_over_present(recall, present),
            "precision": mean_over_present(precision, present),
            "best_f1": best_f1_point(scores, classes, hits[:, 0], self.num_gt),
            "per_class": {
                name: {
                    "boxes": int(self.num_gt[i]),
                    "AP50": float(ap[i, 0]),
                    "AP50_95": float(ap[i].mean()),
                    "recall": float(recall[i]),
                    "precision": float(precision[i]),
                }
                for i, name in enumerate(class_names)
            },
            "detections": len(scores),
            "pr_curves": curves,
            "confusion": self.confusion,
        }
