"""The node's frame counters and latency window (hybridnets_ros.stats: plain Python, no ROS)."""

from __future__ import annotations

import time

import pytest

from hybridnets_ros.stats import FrameStats


def test_frame_stats_keep_only_the_recent_window() -> None:
    stats = FrameStats(window_s=0.3)
    stats.record({"forward": 100.0, "total": 110.0})
    stats.record({"forward": 300.0, "total": 310.0})
    assert stats.latency_summary()["forward"] == (200.0, pytest.approx(290.0))
    time.sleep(0.4)  # the window under test: both samples are now older than 0.3 s
    stats.record({"forward": 50.0})
    assert stats.latency_summary() == {"forward": (50.0, 50.0)}
    stats.count("received")
    stats.count("rejected", "bad input: x")
    totals, rates = stats.rates()
    assert totals["received"] == totals["rejected"] == 1 and rates["received"] > 0
    assert stats.last_error == "bad input: x"
    assert stats.rates()[1]["received"] == 0  # rates are per period
