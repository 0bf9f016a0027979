"""Camera streams into one network: batching the newest frame of each camera, and the
overlapped stage runner (real threads, real timing)."""

from __future__ import annotations

import threading
import time
from functools import partial

import pytest

from hybridnets_core.errors import ConfigError
from hybridnets_core.serving.streams import FrameBatcher, StagedRunner


def test_a_batch_forms_as_soon_as_every_camera_has_a_frame() -> None:
    batcher: FrameBatcher[int] = FrameBatcher(["front", "left"], timeout_s=5.0)
    batcher.put("left", 1)
    batcher.put("front", 2)
    started = time.monotonic()
    batch = batcher.take()
    assert time.monotonic() - started < 0.5
    assert list(batch) == ["front", "left"]  # camera order, not arrival order
    assert (batch["front"].item, batch["left"].item) == (2, 1)


def test_a_stopped_camera_holds_the_others_back_only_for_the_timeout() -> None:
    batcher: FrameBatcher[int] = FrameBatcher(["front", "left", "right"], timeout_s=0.2)
    batcher.put("front", 1)
    batcher.put("left", 2)
    started = time.monotonic()
    batch = batcher.take()
    waited = time.monotonic() - started
    assert set(batch) == {"front", "left"} and 0.15 < waited < 1.0
    assert batcher.stats.batched == {"front": 1, "left": 1}


def test_only_the_newest_frame_of_a_camera_is_kept() -> None:
    batcher: FrameBatcher[int] = FrameBatcher(["front"], timeout_s=1.0)
    assert not batcher.put("front", 1)
    assert batcher.put("front", 2)  # replaced one still waiting: a drop
    assert batcher.take()["front"].item == 2
    assert batcher.stats.received == {"front": 2} and batcher.stats.dropped == {"front": 1}


def test_the_batch_rate_is_capped_and_close_ends_take() -> None:
    batcher: FrameBatcher[int] = FrameBatcher(["front"], timeout_s=0.0, min_interval_s=0.3)
    batcher.put("front", 1)
    batcher.take()
    batcher.put("front", 2)
    started = time.monotonic()
    batcher.take()
    assert time.monotonic() - started > 0.25
    closer = threading.Timer(0.1, batcher.close)
    closer.start()
    assert batcher.take() is None
    with pytest.raises(ConfigError, match="distinct"):
        FrameBatcher(["a", "a"], 0.1)


@pytest.mark.parametrize("overlap", [True, False])
def test_stages_run_every_item_in_order_and_survive_errors(overlap: bool) -> None:
    items = iter([1, 2, 3, 4, 5])
    done: list[int] = []
    errors: list[BaseException] = []
    finished = threading.Event()

    def source() -> int | None:
        return next(items, None)

    def double(value: int) -> int:
        if value == 3:
            raise ValueError("bad batch")
        return value * 2

    def publish(value: int) -> bool:
        done.append(value)
        if len(done) == 4:
            finished.set()
        return True

    runner = StagedRunner(source, [double, lambda v: v + 1, publish], errors.append, overlap)
    runner.start()
    assert finished.wait(10.0)
    runner.stop()
    assert done == [3, 5, 9, 11] and [str(e) for e in errors] == ["bad batch"]


def test_overlapped_stages_run_side_by_side() -> None:
    """Three 0.1 s stages over six items: about 0.8 s overlapped, 1.8 s in turn."""
    elapsed = {}
    for overlap in (True, False):
        items = iter(range(6))
        finished = threading.Event()
        count = []

        def slow(value: int) -> int:
            time.sleep(0.1)  # a stage's work: the durations under test
            return value

        def last(value: int, count: list = count, finished: threading.Event = finished) -> bool:
            time.sleep(0.1)  # a stage's work: the durations under test
            count.append(value)
            if len(count) == 6:
                finished.set()
            return True

        runner = StagedRunner(partial(next, items, None), [slow, slow, last], print, overlap)
        started = time.monotonic()
        runner.start()
        assert finished.wait(10.0)
        elapsed[overlap] = time.monotonic() - started
        runner.stop()
    assert elapsed[True] < 0.75 * elapsed[False], elapsed
