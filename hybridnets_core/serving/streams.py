"""Camera streams into one network: the newest frame of each camera, batched, and an overlapped
three-stage runner so preprocessing, the forward pass and publishing happen side by side.

ROS-free so it is tested without ROS; the node feeds it messages and gets batches back.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..errors import ConfigError

Item = TypeVar("Item")


@dataclass
class Arrival(Generic[Item]):
    """A camera's newest frame and when it arrived (time.monotonic())."""

    item: Item
    arrived: float


@dataclass
class BatchStats:
    """Frames received per camera, replaced before they were processed (dropped), batched."""

    received: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    batched: dict[str, int] = field(default_factory=dict)


class FrameBatcher(Generic[Item]):
    """Keeps only the newest frame of each camera and hands them out as batches.

    A batch is ready as soon as every camera has a frame, or `timeout_s` after the oldest
    waiting frame arrived, with whichever cameras have one by then: a camera that is slow or
    stopped never holds the others back for longer than that. `min_interval_s` caps the batch
    rate (0: as fast as they are taken).
    """

    def __init__(
        self, cameras: Sequence[str], timeout_s: float, min_interval_s: float = 0.0
    ) -> None:
        if not cameras or len(set(cameras)) != len(cameras):
            raise ConfigError(f"cameras must be distinct names, at least one, got {list(cameras)}")
        if not timeout_s >= 0 or not min_interval_s >= 0:
            raise ConfigError("batch timeout and rate interval must be >= 0")
        self.cameras = list(cameras)
        self.timeout_s = timeout_s
        self.min_interval_s = min_interval_s
        self.stats = BatchStats()
        self._waiting: dict[str, Arrival[Item]] = {}
        self._condition = threading.Condition()
        self._closed = False
        self._last_batch = -float("inf")

    def put(self, camera: str, item: Item) -> bool:
        """Offer a camera's frame; returns True when it replaced one still waiting (a drop)."""
        with self._condition:
            replaced = camera in self._waiting
            self._waiting[camera] = Arrival(item, time.monotonic())
            _increment(self.stats.received, camera)
            if replaced:
                _increment(self.stats.dropped, camera)
            self._condition.notify_all()
            return replaced

    def set_interval(self, min_interval_s: float) -> None:
        """Change the rate cap (e.g. when the node's max_rate parameter changes)."""
        with self._condition:
            self.min_interval_s = min_interval_s
            self._condition.notify_all()

    def close(self) -> None:
        """Wake and end every `take`: it returns None from now on."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def take(self) -> dict[str, Arrival[Item]] | None:
        """Block until a batch is ready; camera -> frame, in camera order. None once closed."""
        with self._condition:
            while not self._closed:
                now = time.monotonic()
                wait = self._wait(now)
                if wait <= 0 and self._waiting:
                    batch = {c: self._waiting.pop(c) for c in self.cameras if c in self._waiting}
                    for camera in batch:
                        _increment(self.stats.batched, camera)
                    self._last_batch = now
                    return batch
                self._condition.wait(timeout=min(wait, 0.5) if self._waiting else 0.5)
        return None

    def _wait(self, now: float) -> float:
        """Seconds until the waiting frames form a batch (<= 0: now)."""
        if not self._waiting:
            return float("inf")
        rate_wait = self._last_batch + self.min_interval_s - now
        if len(self._waiting) == len(self.cameras):
            return rate_wait
        oldest = min(arrival.arrived for arrival in self._waiting.values())
        return max(rate_wait, oldest + self.timeout_s - now)


def _increment(counts: dict[str, int], camera: str) -> None:
    counts[camera] = counts.get(camera, 0) + 1


Stage = Callable[[Any], Any]
_END = object()  # passed down the stages after the last item


class StagedRunner:
    """Runs `stages` (each a function of the previous one's result) on a stream of inputs, one
    thread per stage with a one-slot hand-over between them, so stage k of item n overlaps stage
    k+1 of item n-1 (decode and preprocess the next batch while the network runs this one, and
    publish the last one meanwhile). With overlap off, every item runs all stages in turn on
    one thread. A stage returning None drops the item; an exception goes to `on_error` and only
    that item is lost.
    """

    def __init__(
        self,
        source: Callable[[], Any],
        stages: Sequence[Stage],
        on_error: Callable[[BaseException], None],
        overlap: bool = True,
    ) -> None:
        self.source = source
        self.stages = list(stages)
        self.on_error = on_error
        self.overlap = overlap
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def start(self) -> None:
        """Start the thread(s); `source` returning None ends the run."""
        if self.overlap:
            slots = [queue.Queue(maxsize=1) for _ in self.stages[1:]]
            inputs = [self.source, *(self._getter(slot) for slot in slots)]
            outputs = [*(slot.put for slot in slots), None]
            for index, stage in enumerate(self.stages):
                self._spawn(f"stage{index}", self._loop, inputs[index], stage, outputs[index])
        else:
            self._spawn("stages", self._loop, self.source, self._all_stages, None)

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=f"hybridnets_{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _getter(self, slot: queue.Queue) -> Callable[[], Any]:
        def get() -> Any:
            while not self._stop.is_set():
                try:
                    return slot.get(timeout=0.2)
                except queue.Empty:
                    continue
            return _END

        return get

    def _all_stages(self, item: Any) -> Any:
        for stage in self.stages:
            item = stage(item)
            if item is None:
                return None
        return item

    def _loop(
        self, take: Callable[[], Any], stage: Stage, give: Callable[..., None] | None
    ) -> None:
        """Run one stage until its input ends; the end is handed on after the last item, so
        later stages finish what is in flight."""
        while not self._stop.is_set():
            item = take()
            if item is None or item is _END:
                break
            try:
                result = stage(item)
            except Exception as exc:  # one bad batch must not stop the stream
                self.on_error(exc)
                continue
            if result is not None and give is not None:
                self._hand_over(give, result)
        if give is not None:
            self._hand_over(give, _END)

    def _hand_over(self, give: Callable[..., None], result: Any) -> None:
        while not self._stop.is_set():
            try:
                give(result, timeout=0.2)
                return
            except queue.Full:
                continue

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop every thread now (items in flight are dropped; close the source first)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout_s)
        self._threads.clear()
