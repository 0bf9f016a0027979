"""Streaming detection metrics under the paper's protocol (default) or COCO-style matching.

protocol "paper" (HybridNets `val.py`, `utils/utils.py`: `process_batch`, `ap_per_class`,
`compute_ap`, `ConfusionMatrix`): one matching per image at IoU >= 0.5 (see `matching`); AP
per class and threshold from the sentinel-padded envelope, `np.interp` at 101 recall points,
trapezoid rule (see `average_precision`); mAP50 and mAP50-95 (mean over the 10 thresholds,
then over classes) over the classes that have labels, a class without detections scoring 0;
P and R at confidence 0, i.e. over all detections (`ap_per_class` takes them where the
class-mean recall peaks on its 1000-point confidence grid, which is its first point).
protocol "coco": per-threshold greedy matching, AP as the mean of the 101 envelope points,
the same end-of-curve P and R.
Both stream the match statistics (see `streaming`): memory does not grow with the images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, InputError
from .average_precision import CURVES, RECALL_POINTS, RankedHits, area, average_precision
from .matching import (
    COCO_CONFUSION_CONF,
    IOU_THRESHOLDS,
    confusion_update,
    confusion_update_paper,
    match_detections,
    match_detections_paper,
)
from .streaming import EXACT_TOP, SCORE_BINS, StreamedMatches

PROTOCOLS = ("paper", "coco")
MATCHERS = {"paper": match_detections_paper, "coco": match_detections}
CONF_GRID = np.linspace(0.0, 1.0, 1001)
CONF_STEP = SCORE_BINS // (len(CONF_GRID) - 1)


def interpolated_ap(hits_sorted: np.ndarray, num_gt: int) -> float:
    """COCO-style 101-point AP of score-sorted hit flags; NaN without ground truth."""
    return average_precision(hits_sorted, num_gt, "coco")


def best_f1_point(sizes: np.ndarray, hits: np.ndarray, num_gt: np.ndarray) -> dict[str, float]:
    """Score threshold on CONF_GRID maximising the class-mean F1 at IoU 0.5, with precision and
    recall there (an operating point, not part of either protocol). sizes and hits: [C, 1001]
    detections and true positives with score >= each threshold."""
    present = np.flatnonzero(num_gt > 0)
    if not len(present):
        nan = float("nan")
        return {"conf": float(CONF_GRID[0]), "precision": nan, "recall": nan, "f1": nan}
    precision = hits[present] / np.maximum(sizes[present], 1)
    recall = hits[present] / num_gt[present, None]
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    best = int(f1.mean(axis=0).argmax())
    return {
        "conf": float(CONF_GRID[best]),
        "precision": float(precision[:, best].mean()),
        "recall": float(recall[:, best].mean()),
        "f1": float(f1[:, best].mean()),
    }


def mean_over_present(values: np.ndarray, present: np.ndarray) -> float:
    """Mean over the classes that have ground-truth boxes (NaN when none has)."""
    return float(np.mean(values[present])) if present.any() else float("nan")


def _check_image(num_classes: int, boxes, scores, classes, gt_boxes, gt_classes) -> None:
    """One-line errors for arrays that cannot be scored."""
    if boxes.shape != (len(scores), 4) or len(classes) != len(scores):
        raise InputError(
            f"detections: boxes {boxes.shape}, scores {scores.shape}, classes "
            f"{np.shape(classes)} do not line up; pass boxes [N, 4] with N scores and classes"
        )
    if gt_boxes.shape != (len(gt_classes), 4):
        raise InputError(
            f"ground truth: boxes {gt_boxes.shape} and classes {np.shape(gt_classes)} do not "
            "line up; pass boxes [M, 4] with M classes"
        )
    if len(scores) and not ((scores >= 0) & (scores <= 1)).all():
        raise InputError("detection scores must lie in [0, 1]; pass probabilities, not logits")
    for name, ids in (("detection", classes), ("ground-truth", gt_classes)):
        if len(ids) and (ids.min() < 0 or ids.max() >= num_classes):
            raise InputError(
                f"{name} class ids must lie in 0..{num_classes - 1} (got {ids.min()}..{ids.max()});"
                " check the project's obj_list"
            )


@dataclass
class DetectionAccumulator:
    """Detection metrics image by image, in bounded memory (see `streaming`).

    Exactness: while a class has at most `exact_top` detections its numbers equal the exact
    per-detection computation (ties in score ordered by arrival, i.e. image then position).
    Below that, detections are grouped in 1e-5 score bins whose inner order is unknown; a
    true positive's rank is then known within the bin's false-positive count, which moves
    any precision on the curves by at most q * (n - k) / M (q the precision, n and k the bin's
    detections and true positives, M >= exact_top the detections above it), hence any AP by
    at most the largest such shift. `compute` reports the data's actual bound as
    "ap_error_bound": the most any per-class AP (so any mAP) can differ from the exact value
    for any order inside the bins (0 when nothing was binned). Recall, precision, detection
    counts and the best-F1 point are exact.
    """

    num_classes: int
    protocol: str = "paper"
    exact_top: int = EXACT_TOP

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(
                f"unknown detection protocol {self.protocol!r}; use one of {', '.join(PROTOCOLS)}"
            )
        if self.num_classes < 1 or self.exact_top < 1:
            raise ConfigError(
                f"detection metrics need num_classes >= 1 and exact_top >= 1 (got "
                f"{self.num_classes}, {self.exact_top})"
            )
        self.matches = StreamedMatches(self.num_classes, len(IOU_THRESHOLDS), self.exact_top)
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
        boxes, scores = np.asarray(boxes).reshape(-1, 4), np.asarray(scores).reshape(-1)
        gt_boxes = np.asarray(gt_boxes).reshape(-1, 4)
        classes = np.asarray(classes, dtype=np.int64).reshape(-1)
        gt_classes = np.asarray(gt_classes, dtype=np.int64).reshape(-1)
        _check_image(self.num_classes, boxes, scores, classes, gt_boxes, gt_classes)
        hits = MATCHERS[self.protocol](boxes, scores, classes, gt_boxes, gt_classes)
        self.matches.add(scores, classes, hits)
        self.num_gt += np.bincount(gt_classes, minlength=self.num_classes)
        if self.protocol == "paper":
            confusion_update_paper(self.confusion, boxes, scores, classes, gt_boxes, gt_classes)
        else:
            confident = scores >= COCO_CONFUSION_CONF
            confusion_update(
                self.confusion, boxes[confident], classes[confident], gt_boxes, gt_classes
            )

    def _class_metrics(self, cls: int) -> dict[str, Any]:
        """AP per threshold (value and bound), the IoU-0.5 curve, end-of-curve P and R."""
        sizes, hits = self.matches.groups(cls)
        labels = int(self.num_gt[cls])
        ap, lower, upper, curve = [], [], [], None
        for threshold_hits in hits:
            result = CURVES[self.protocol](RankedHits(sizes, threshold_hits), labels)
            curve = result.value if curve is None else curve
            ap.append(area(result.value, self.protocol))
            lower.append(area(result.lower, self.protocol))
            upper.append(area(result.upper, self.protocol))
        ap, lower, upper = np.array(ap), np.array(lower), np.array(upper)
        found = float(hits[0].sum())
        return {
            "ap": ap,
            "bound": max(
                np.max(np.maximum(upper - ap, ap - lower)),
                max(upper.mean() - ap.mean(), ap.mean() - lower.mean()),
            ),
            "curve": curve,
            "recall": found / labels,
            "precision": found / sizes.sum() if sizes.sum() else 0.0,
        }

    def compute(self, class_names: list[str]) -> dict[str, Any]:
        """AP per class and IoU threshold; mAP50, mAP50-95, end-of-curve recall and precision,
        best-F1 operating point, PR curves at IoU 0.5, confusion matrix."""
        ap = np.full((self.num_classes, len(IOU_THRESHOLDS)), np.nan)
        recall = np.full(self.num_classes, np.nan)
        precision = np.full(self.num_classes, np.nan)
        curves = np.zeros((self.num_classes, len(RECALL_POINTS)))
        bound = 0.0
        for cls in np.flatnonzero(self.num_gt):
            metrics = self._class_metrics(int(cls))
            ap[cls], curves[cls] = metrics["ap"], metrics["curve"]
            recall[cls], precision[cls] = metrics["recall"], metrics["precision"]
            bound = max(bound, float(metrics["bound"]))
        present = self.num_gt > 0
        counts = [self.matches.at_thresholds(cls, CONF_STEP) for cls in range(self.num_classes)]
        detections = int(sum(sizes[0] for sizes, _ in counts))
        return {
            "protocol": self.protocol,
            "mAP50": mean_over_present(ap[:, 0], present),
            "mAP50_95": mean_over_present(ap.mean(axis=1), present),
            "recall": mean_over_present(recall, present),
            "precision": mean_over_present(precision, present),
            "ap_error_bound": bound,
            "best_f1": best_f1_point(
                np.array([c[0] for c in counts]), np.array([c[1] for c in counts]), self.num_gt
            ),
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
            "detections": detections,
            "pr_curves": curves,
            "confusion": self.confusion,
        }
