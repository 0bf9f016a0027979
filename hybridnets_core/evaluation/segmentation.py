"""Streaming segmentation metrics per image: drivable mIoU, lane IoU and lane balanced accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..inference.results import DRIVABLE_NAMES, LANE_NAMES

VARIANTS = ("paper", "no_padding")


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two bool maps; 1.0 when both are empty (nothing to miss)."""
    union = np.count_nonzero(pred | truth)
    return 1.0 if union == 0 else np.count_nonzero(pred & truth) / union


def balanced_accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    """(sensitivity + specificity) / 2; a rate whose class is absent counts as 1.0."""
    positives = np.count_nonzero(truth)
    negatives = truth.size - positives
    true_pos = np.count_nonzero(pred & truth)
    true_neg = negatives - np.count_nonzero(pred & ~truth)
    sensitivity = true_pos / positives if positives else 1.0
    specificity = true_neg / negatives if negatives else 1.0
    return (sensitivity + specificity) / 2


def _find(names: list[str], candidates: tuple[str, ...]) -> int | None:
    return next((i for i, name in enumerate(names) if name in candidates), None)


class SegmentationAccumulator:
    """Running sums of per-image scores, both over the whole network input (the paper's
    protocol, letterbox padding included) and over the image content only."""

    def __init__(self, seg_list: list[str], seg_mode: str) -> None:
        self.seg_list = seg_list
        self.multiclass = seg_mode == "multiclass"
        self.drivable = _find(seg_list, DRIVABLE_NAMES)
        self.lane = _find(seg_list, LANE_NAMES)
        if self.drivable is None and self.lane is None:
            raise ConfigError(
                f"seg_list {seg_list} names neither a drivable class {DRIVABLE_NAMES} nor a "
                f"lane class {LANE_NAMES}; rename them in the project file"
            )
        self.images = 0
        self.sums = {variant: dict.fromkeys(self._keys(), 0.0) for variant in VARIANTS}

    def _keys(self) -> list[str]:
        keys = [f"iou_{name}" for name in self.seg_list]
        if self.drivable is not None:
            keys.append("drivable_miou")
        if self.lane is not None:
            keys += ["lane_iou", "lane_accuracy"]
        return keys

    def _scores(self, pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
        scores = {f"iou_{n}": iou(p, t) for n, p, t in zip(self.seg_list, pred, truth)}
        if self.drivable is not None:
            road_pred, road_true = pred[self.drivable], truth[self.drivable]
            if self.multiclass:
                back_pred, back_true = ~pred.any(axis=0), ~truth.any(axis=0)
            else:
                back_pred, back_true = ~road_pred, ~road_true
            scores["drivable_miou"] = (iou(back_pred, back_true) + iou(road_pred, road_true)) / 2
        if self.lane is not None:
            scores["lane_iou"] = iou(pred[self.lane], truth[self.lane])
            scores["lane_accuracy"] = balanced_accuracy(pred[self.lane], truth[self.lane])
        return scores

    def update(self, pred: np.ndarray, truth: np.ndarray, content: tuple[slice, slice]) -> None:
        """Add one image: bool [C, H, W] prediction and truth at network size, content region."""
        rows, cols = content
        regions = {
            "paper": (pred, truth),
            "no_padding": (pred[:, rows, cols], truth[:, rows, cols]),
        }
        for variant, (p, t) in regions.items():
            for key, value in self._scores(p, t).items():
                self.sums[variant][key] += value
        self.images += 1

    def compute(self) -> dict[str, Any]:
        """Per-image averages for each variant."""
        count = max(self.images, 1)
        return {
            variant: {key: float(value / count) for key, value in sums.items()}
            for variant, sums in self.sums.items()
        }
