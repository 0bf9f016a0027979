"""Thread-safe frame counters and per-stage latencies of the last seconds, for diagnostics."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

COUNTERS = ("received", "processed", "dropped", "rejected", "failed")


class FrameStats:
    """Counts frames by fate and keeps the stage latencies (ms) of the last `window_s` seconds."""

    def __init__(self, window_s: float = 10.0, max_samples: int = 10_000) -> None:
        self._lock = threading.Lock()
        self.window_s = window_s
        self.counts = dict.fromkeys(COUNTERS, 0)
        self._samples: deque[tuple[float, dict[str, float]]] = deque(maxlen=max_samples)
        self._last_counts = dict(self.counts)
        self._last_time = time.monotonic()
        self.last_error = ""

    def count(self, counter: str, error: str = "") -> None:
        """Add one frame to `counter`; remember `error` as the latest problem when given."""
        with self._lock:
            self.counts[counter] += 1
            if error:
                self.last_error = error

    def record(self, stages: dict[str, float]) -> None:
        """Store one processed frame's stage latencies in milliseconds."""
        with self._lock:
            self._samples.append((time.monotonic(), stages))

    def rates(self) -> tuple[dict[str, int], dict[str, float]]:
        """Totals, and per-second rates of each counter since the previous call."""
        with self._lock:
            now = time.monotonic()
            elapsed = max(now - self._last_time, 1e-9)
            rates = {k: (v - self._last_counts[k]) / elapsed for k, v in self.counts.items()}
            self._last_counts = dict(self.counts)
            self._last_time = now
            return dict(self.counts), rates

    def latency_summary(self) -> dict[str, tuple[float, float]]:
        """(median, p95) in ms of each stage over the frames of the last `window_s` seconds."""
        with self._lock:
            oldest = time.monotonic() - self.window_s
            while self._samples and self._samples[0][0] < oldest:
                self._samples.popleft()
            frames = [stages for _, stages in self._samples]
        names = dict.fromkeys(name for stages in frames for name in stages)
        summary = {}
        for name in names:
            values = np.array([stages[name] for stages in frames if name in stages])
            summary[name] = (float(np.median(values)), float(np.percentile(values, 95)))
        return summary
