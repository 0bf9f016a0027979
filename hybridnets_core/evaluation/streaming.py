"""Match statistics streamed image by image in memory that does not grow with the images.

Per class, the `exact_top` highest-scoring detections are kept one by one (score, arrival
number, hit flags), in the order an exact evaluation would sort them (score descending, then
arrival). Everything below them is counted on a score grid of width 1e-5: per bin the
detections and, for every IoU threshold, the true positives. Memory: num_classes x (11 x
100,001 counts + exact_top entries), e.g. about 6 MB per class.

What is lost is only the order of detections inside one bin below the exact top, so the
AP computed from these groups is bounded (see `average_precision`); end-of-curve recall and
precision and every count at a score threshold that is a multiple of 1e-5 stay exact.
"""

from __future__ import annotations

import numpy as np

SCORE_BINS = 100_000  # bin b holds scores in [b / SCORE_BINS, (b + 1) / SCORE_BINS); 1.0: its own
EXACT_TOP = 65_536
INT32_LIMIT = np.iinfo(np.int32).max


def score_bins(scores: np.ndarray) -> np.ndarray:
    """Grid bin of each score in [0, 1]."""
    return np.minimum((scores.astype(np.float64) * SCORE_BINS).astype(np.int64), SCORE_BINS)


class StreamedMatches:
    """Scores, classes and per-threshold hit flags of all detections, kept as described above."""

    def __init__(self, num_classes: int, num_thresholds: int, exact_top: int = EXACT_TOP) -> None:
        if num_thresholds > 16:
            raise ValueError("at most 16 IoU thresholds (hit flags are packed in 16 bits)")
        self.num_classes, self.num_thresholds, self.exact_top = (
            num_classes,
            num_thresholds,
            exact_top,
        )
        self.counts = np.zeros((num_classes, 1 + num_thresholds, SCORE_BINS + 1), np.int32)
        self.binned = 0
        self.arrivals = 0
        empty = (np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, np.uint16))
        self.top = [empty for _ in range(num_classes)]
        self.floor = np.full(num_classes, -np.inf)
        self.pending: list[tuple[np.ndarray, ...]] = []
        self.pending_size = 0

    def add(self, scores: np.ndarray, classes: np.ndarray, hits: np.ndarray) -> None:
        """One image: scores [D] in [0, 1], class ids [D], hit flags [D, T]."""
        arrival = self.arrivals + np.arange(len(scores))
        self.arrivals += len(scores)
        high = scores > self.floor[classes]
        self._count(scores[~high], classes[~high], hits[~high])
        flags = hits[high].astype(np.uint16) << np.arange(self.num_thresholds, dtype=np.uint16)
        self.pending.append((scores[high].astype(np.float32), classes[high], arrival[high],
                             flags.sum(axis=1, dtype=np.uint16)))  # fmt: skip
        self.pending_size += int(high.sum())
        if self.pending_size > self.exact_top:
            self.settle()

    def settle(self) -> None:
        """Merge pending detections into each class's exact top; the rest go to the grid."""
        if not self.pending:
            return
        scores, classes, arrival, flags = (np.concatenate(part) for part in zip(*self.pending))
        self.pending, self.pending_size = [], 0
        for cls in np.unique(classes):
            mine = classes == cls
            kept_scores, kept_arrival, kept_flags = (
                np.concatenate([old, new])
                for old, new in zip(self.top[cls], (scores[mine], arrival[mine], flags[mine]))
            )
            order = np.lexsort((kept_arrival, -kept_scores))
            keep, spill = order[: self.exact_top], order[self.exact_top :]
            self.top[cls] = (kept_scores[keep], kept_arrival[keep], kept_flags[keep])
            if len(spill):
                self.floor[cls] = kept_scores[keep[-1]]
                spilled = self._unpack(kept_flags[spill])
                self._count(kept_scores[spill], np.full(len(spill), cls), spilled)

    def _unpack(self, flags: np.ndarray) -> np.ndarray:
        return (flags[:, None] >> np.arange(self.num_thresholds, dtype=np.uint16)) & 1 > 0

    def _count(self, scores: np.ndarray, classes: np.ndarray, hits: np.ndarray) -> None:
        """Add detections to the grid counts."""
        if not len(scores):
            return
        self.binned += len(scores)
        if self.binned > INT32_LIMIT and self.counts.dtype == np.int32:
            self.counts = self.counts.astype(np.int64)
        bins = score_bins(scores)
        rows = (1 + self.num_thresholds) * np.asarray(classes, dtype=np.int64)
        flat = self.counts.reshape(-1)
        np.add.at(flat, rows * (SCORE_BINS + 1) + bins, 1)
        det, threshold = np.nonzero(hits)
        np.add.at(flat, (rows[det] + 1 + threshold) * (SCORE_BINS + 1) + bins[det], 1)

    def groups(self, cls: int) -> tuple[np.ndarray, np.ndarray]:
        """Score-ordered groups of one class: sizes [G] and hits [T, G]; the exact top as
        groups of one, then the non-empty grid bins from high to low."""
        self.settle()
        _, _, flags = self.top[cls]
        grid = self.counts[cls][:, ::-1]
        filled = np.flatnonzero(grid[0])
        sizes = np.concatenate([np.ones(len(flags)), grid[0, filled]])
        hits = np.concatenate([self._unpack(flags).T, grid[1:, filled]], axis=1)
        return sizes, hits

    def at_thresholds(self, cls: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Detections and hits at the first threshold with score >= k * step / SCORE_BINS,
        for k = 0 .. SCORE_BINS / step (exact counts)."""
        self.settle()
        scores, _, flags = self.top[cls]
        bins = score_bins(scores)
        sizes = self.counts[cls, 0] + np.bincount(bins, minlength=SCORE_BINS + 1)
        hits = self.counts[cls, 1] + np.bincount(bins, weights=flags & 1, minlength=SCORE_BINS + 1)
        at_least = lambda values: np.cumsum(values[::-1])[::-1][::step]  # noqa: E731
        return at_least(sizes), at_least(hits)
