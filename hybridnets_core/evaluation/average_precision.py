"""AP of one class at one IoU threshold from score-ordered groups of detections, with bounds.

Detections come as groups in descending score order: group g holds n_g detections, k_g of
them true positives, in an order not known inside the group (per-detection data are groups of
one, which are exact). Both protocols' curves depend only on the rank of each true positive,
and a group pins the j-th true positive inside it to ranks M + j .. M + n - k + j (M
detections before the group). The curves are monotone in the precisions involved, so
evaluating them at the ends of those intervals bounds the exact value for every order inside
the groups; the reported value takes the ranks a random order gives on average,
M + j (n + 1) / (k + 1), and lies inside the bounds.

paper (YOLOv5 `compute_ap`): points (recall, precision) after every detection, sentinels
  (0, 1) before and (1, 0) after, precision replaced by its envelope (max to the right),
  `np.interp` at 101 recall points (at a repeated recall it takes the last point's value),
  integrated with the trapezoid rule.
coco: the envelope's value at the first point reaching each of 101 recall levels (0 where a
  level is never reached), averaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RECALL_POINTS = np.linspace(0.0, 1.0, 101)


@dataclass
class Curve:
    """Precision at the 101 recall points: the estimate and bounds valid for any order."""

    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _suffix_max(values: np.ndarray) -> np.ndarray:
    """Maximum from each position to the end, with a trailing 0."""
    return np.concatenate([np.maximum.accumulate(values[::-1])[::-1], [0.0]])


class RankedHits:
    """True-positive ranks of score-ordered groups, as intervals and an estimate."""

    def __init__(self, sizes: np.ndarray, hits: np.ndarray) -> None:
        self.sizes, self.hits = sizes.astype(np.float64), hits.astype(np.float64)
        self.before = np.cumsum(self.sizes) - self.sizes
        self.cumulative = np.cumsum(self.hits)
        self.hits_before = self.cumulative - self.hits
        self.total = float(self.sizes.sum())
        self.total_hits = round(float(self.hits.sum()))
        self.spacing = (self.sizes + 1) / (self.hits + 1)
        last = self.hits_before + self.hits
        with np.errstate(invalid="ignore", divide="ignore"):
            group_lower = np.where(self.hits > 0, last / (self.before + self.sizes), 0.0)
            group_upper = np.where(self.hits > 0, last / (self.before + self.hits), 0.0)
            group_value = np.where(
                self.hits > 0, np.maximum(self._estimate(1.0), self._estimate(self.hits)), 0.0
            )
        self.after_lower = _suffix_max(group_lower)
        self.after_upper = _suffix_max(group_upper)
        self.after_value = _suffix_max(group_value)

    def _estimate(self, position, group=slice(None)):
        """Precision at the position-th true positive of groups, at its average rank."""
        rank = self.before[group] + position * self.spacing[group]
        return (self.hits_before[group] + position) / rank

    def locate(self, hit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Group and position inside it of the hit-th true positive (1-based)."""
        group = np.searchsorted(self.cumulative, hit, side="left")
        return group, hit - self.hits_before[group]

    def envelope(self, hit: np.ndarray) -> tuple[np.ndarray, ...]:
        """Best precision at or after the hit-th true positive: value, lower, upper."""
        group, position = self.locate(hit)
        ends = self.hits_before[group] + self.hits[group]
        own_value = np.maximum(
            self._estimate(position, group), self._estimate(self.hits[group], group)
        )
        value = np.maximum(own_value, self.after_value[group + 1])
        lower = np.maximum(
            ends / (self.before[group] + self.sizes[group]), self.after_lower[group + 1]
        )
        upper = np.maximum(
            ends / (self.before[group] + self.hits[group]), self.after_upper[group + 1]
        )
        return value, lower, upper

    def before_hit(self, hit: np.ndarray) -> tuple[np.ndarray, ...]:
        """Precision of the detection just before the hit-th true positive (hit >= 2)."""
        group, position = self.locate(hit)
        found = hit - 1
        first = self.before[group] + position - 1
        value = found / (self.before[group] + position * self.spacing[group] - 1)
        lower = found / (first + self.sizes[group] - self.hits[group])
        return value, lower, found / first

    def first_point(self) -> tuple[float, float, float]:
        """Envelope of the last point at recall 0: 1 if the top detection is a true positive
        (the sentinel (0, 1) is then the last such point), else the best precision."""
        value, lower, upper = (float(v[0]) for v in self.envelope(np.array([1])))
        group, _ = self.locate(np.array([1]))
        if self.before[group[0]] > 0:
            return value, lower, upper
        share = self.hits[group[0]] / self.sizes[group[0]]
        if share == 1:
            return 1.0, 1.0, 1.0
        return share + (1 - share) * value, lower, 1.0


def _recall_level(points: np.ndarray, num_labels: int) -> np.ndarray:
    """Largest a with a / num_labels <= point (float64 comparisons, as np.interp makes)."""
    level = np.floor(points * num_labels)
    level -= level / num_labels > points
    level += (level + 1) / num_labels <= points
    return level.astype(np.int64)


def paper_curve(ranked: RankedHits, num_labels: int) -> Curve:
    """np.interp of the sentinel-padded precision envelope at the 101 recall points.

    A point x between recall levels a / L and (a + 1) / L lies on the segment from the last
    point at level a (envelope h: the sentinel or the detection before true positive a + 1)
    to true positive a + 1 (envelope g); past the last true positive, on the segment from the
    last detection (precision found / detections) to the sentinel (1, 0)."""
    x = RECALL_POINTS
    level = _recall_level(x, num_labels)
    found = ranked.total_hits
    curves = [np.zeros(len(x)) for _ in range(3)]
    inner = np.flatnonzero((level < found) & (x < 1))
    if len(inner):
        at = level[inner]
        ahead = ranked.envelope(at + 1)
        start = [np.zeros(len(inner)) for _ in range(3)]
        later = at >= 1
        if later.any():
            for side, prior, next_best in zip(start, ranked.before_hit(at[later] + 1), ahead):
                side[later] = np.maximum(prior, next_best[later])
        for side, first in zip(start, ranked.first_point()):
            side[~later] = first
        left, right = at / num_labels, (at + 1) / num_labels
        for curve, h, g in zip(curves, start, ahead):
            curve[inner] = (g - h) / (right - left) * (x[inner] - left) + h
    tail = np.flatnonzero((level >= found) & (x < 1))
    if len(tail) and ranked.total:
        last = found / ranked.total
        left = found / num_labels
        for curve in curves:
            curve[tail] = (0.0 - last) / (1.0 - left) * (x[tail] - left) + last
    return Curve(*curves)


def coco_curve(ranked: RankedHits, num_labels: int) -> Curve:
    """Envelope at the first point reaching each of the 101 recall levels (0 if never)."""
    level = np.ceil(RECALL_POINTS * num_labels)
    level -= (level - 1) / num_labels >= RECALL_POINTS
    level += level / num_labels < RECALL_POINTS
    level = np.maximum(level, 1).astype(np.int64)
    reached = np.flatnonzero(level <= ranked.total_hits)
    curves = [np.zeros(len(RECALL_POINTS)) for _ in range(3)]
    for curve, values in zip(curves, ranked.envelope(level[reached])):
        curve[reached] = values
    return Curve(*curves)


CURVES = {"paper": paper_curve, "coco": coco_curve}


def area(curve: np.ndarray, protocol: str) -> float:
    """AP from a curve: the trapezoid rule (paper) or the mean of the 101 points (coco)."""
    if protocol == "paper":  # np.trapezoid's arithmetic, written out for numpy 1.x
        steps = np.diff(RECALL_POINTS)
        return float(np.add.reduce(steps * (curve[1:] + curve[:-1]) / 2.0))
    return float(curve.mean())


def average_precision(hits_sorted: np.ndarray, num_gt: int, protocol: str = "paper") -> float:
    """AP of score-sorted per-detection hit flags (exact); NaN without ground truth."""
    if num_gt == 0:
        return float("nan")
    ranked = RankedHits(np.ones(len(hits_sorted)), np.asarray(hits_sorted, dtype=np.float64))
    return area(CURVES[protocol](ranked, num_gt).value, protocol)
