"""bag-eval's path and ground scores (velocity error, lane assignment, lead selection and TTC,
grid and local map IoU) on a tiny braking-lead drive with the built-in model, and on the same
drive without the newer truth topics, as older synth-bag drives were written."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from bag_fixtures import RAW, run_cli

from hybridnets_core.bag.reader import BagReader
from hybridnets_core.bag.writer import BagWriter

FRAMES, FPS, SIZE = 8, 5.0, "320x192"
NEWER_TOPICS = (
    "/tf",
    "/odom",
    "/ground_truth/tracked_objects",
    "/ground_truth/tracked_objects_relative",
    "/ground_truth/lead",
)


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bag = tmp_path_factory.mktemp("path") / "drive"
    assert run_cli("synth-bag", "--out", bag, "--frames", FRAMES, "--fps", FPS, "--seed", 1,
                   "--size", SIZE, "--scenario", "braking-lead") == 0  # fmt: skip
    return bag


def planner_report(bag: Path, out: Path) -> dict:
    assert run_cli("bag-eval", "--bag", bag, "--topic", RAW, "--out", out) == 0
    return json.loads((out / "report.json").read_text())["planner"]


def in_unit_interval(value: float | None) -> bool:
    return value is not None and 0.0 <= value <= 1.0


def test_every_path_and_ground_score_is_reported(drive, tmp_path) -> None:
    planner = planner_report(drive, tmp_path / "report")
    velocity = planner["objects"]["velocity_error_mps"]
    assert velocity["count"] > 0 and math.isfinite(velocity["median"]) and velocity["median"] >= 0
    assert "relative to the ego vehicle" in velocity["description"]
    lanes, lead = planner["lanes"], planner["lead"]
    assert lanes["assignment_count"] > 0 and in_unit_interval(lanes["assignment_accuracy"])
    assert lead["frames"] == FRAMES and in_unit_interval(lead["selection_accuracy"])
    ttc = lead["ttc_error_rel"]
    assert ttc["ttc_below_s"] == 10.0
    assert ttc["count"] == 0 or (ttc["median"] is not None and ttc["median"] >= 0)
    assert planner["grid"]["frames"] == FRAMES and 0.0 < planner["grid"]["iou"] <= 1.0
    local_map = planner["local_map"]
    assert local_map["frames"] == FRAMES and local_map["cells"] > 0
    assert 0.0 < local_map["iou"] <= 1.0
    report = (tmp_path / "report" / "report.md").read_text()
    for row in ("lane assignment accuracy", "lead selection accuracy", "local map IoU"):
        assert f"| {row}" in report


def test_a_drive_without_motion_truth_still_evaluates(drive, tmp_path) -> None:
    """An older drive (no TF, odometry, tracked objects or lead): tracking, lanes and the grid
    are scored as before, the newer scores are null with zero counts."""
    old = tmp_path / "old"
    with BagReader(drive) as bag, BagWriter(old) as writer:
        kept = [topic for topic in bag.topics if topic not in NEWER_TOPICS]
        for topic, log_ns, msg in bag.messages(kept):
            writer.write(topic, bag.topics[topic], log_ns, msg)
    planner = planner_report(old, tmp_path / "report")
    assert planner["frames"] == FRAMES and planner["tracking"]["num_objects"] > 0
    assert planner["objects"]["velocity_error_mps"]["count"] == 0
    assert planner["objects"]["velocity_error_mps"]["median"] is None
    assert planner["lanes"]["assignment_accuracy"] is None
    assert planner["lead"]["frames"] == 0 and planner["lead"]["selection_accuracy"] is None
    assert 0.0 < planner["grid"]["iou"] <= 1.0
    assert planner["local_map"] == {"iou": None, "frames": 0, "cells": 0}
