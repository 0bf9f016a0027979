"""bag-eval's path and ground scores (velocity error, lane assignment, lead selection and TTC,
grid and local map IoU) on a tiny braking-lead drive with the built-in model, and on the same
drive without the newer truth topics, as older synth-bag drives were written; and the scores'
definitions on hand-made tracks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from bag_fixtures import RAW, run_cli

from hybridnets_core.bag.path_metrics import MotionTruth, PathMetrics, pair_tracks
from hybridnets_core.bag.reader import BagReader
from hybridnets_core.bag.writer import BagWriter
from hybridnets_core.scene.ground import GridSpec
from hybridnets_core.scene.lanes import LaneEstimate, fit_lanes
from hybridnets_core.scene.tracking import TrackResult, TrackState

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


def track_result(xy: list[tuple[float, float]], velocity: list[tuple[float, float]]) -> TrackResult:
    """Confirmed tracks "7", "8", ... at ground positions `xy`, each updated this frame by the
    detection of its own row, whose box is BOXES' row."""
    count = len(xy)
    return TrackResult(
        stamp_ns=0,
        detection_track_ids=[str(7 + i) for i in range(count)],
        track_ids=[str(7 + i) for i in range(count)],
        states=np.full(count, TrackState.TRACKED),
        boxes=BOXES[:count],
        class_ids=np.zeros(count, np.int64),
        scores=np.ones(count),
        detection_index=np.arange(count),
        ground_valid=np.ones(count, bool),
        ground_xy=np.array(xy, float).reshape(-1, 2),
        ground_velocity=np.array(velocity, float).reshape(-1, 2),
        ground_cov=np.zeros((count, 4, 4)),
        age_s=np.ones(count),
        hits=np.full(count, 5),
        time_since_update_s=np.zeros(count),
    )


BOXES = np.array([[100.0, 100.0, 200.0, 180.0], [300.0, 100.0, 360.0, 140.0]])


def straight_lanes(*offsets: float) -> LaneEstimate:
    """Lanes fitted to straight 12 cm wide lines at these lateral offsets, seen 4-50 m ahead."""
    x = np.repeat(np.linspace(4.0, 50.0, 200), 3)
    across = np.tile([-0.06, 0.0, 0.06], 200)
    return fit_lanes(np.concatenate([np.stack([x, y + across], axis=1) for y in offsets]))


def test_path_scores_follow_their_definitions() -> None:
    """Two tracks paired with two true vehicles: the lead (ego lane, closing) and one in the
    lane to the left; then frames without tracks, with the true lead beyond and inside the
    grid."""
    metrics = PathMetrics(GridSpec(), ["car"])
    lanes = straight_lanes(5.25, 1.75, -1.75)
    tracks = track_result([(20.0, 0.0), (30.0, 3.5)], [(-4.0, 0.0), (0.0, 0.0)])
    truth = MotionTruth(
        relative_velocity=np.array([[-4.5, 0.0], [0.0, 0.3]]),
        lane_index=np.array([0, 1]),
        lead_id="1",
        lead_ttc_s=4.0,
    )
    ids, xy = ["1", "2"], np.array([[20.0, 0.0], [30.0, 3.5]])
    # the true boxes overlap the detections at IoU > 0.5, in the other order
    true_boxes = BOXES[::-1] + np.array([[2.0, 0.0, 2.0, 0.0]])
    metrics.update(tracks, BOXES, lanes, ids[::-1], true_boxes, xy[::-1], _reversed(truth))
    assert pair_tracks(tracks, BOXES, true_boxes) == {0: 1, 1: 0}
    # lead: track 7 at 20 m closing at 4 m/s: TTC 5 s against the true 4 s
    far = MotionTruth(np.zeros((1, 2)), np.zeros(1, np.int64), "1", math.inf)
    nothing = track_result([], [])
    metrics.update(nothing, BOXES[:0], lanes, ["1"], BOXES[:1], np.array([[50.0, 0.0]]), far)
    metrics.update(nothing, BOXES[:0], lanes, ["1"], BOXES[:1], np.array([[20.0, 0.0]]), far)
    summary = metrics.summary()
    velocity = summary["objects"]["velocity_error_mps"]
    assert velocity["count"] == 2 and velocity["median"] == pytest.approx((0.5 + 0.3) / 2)
    assert summary["lanes"] == {"assignment_accuracy": 1.0, "assignment_count": 2}
    lead = summary["lead"]
    assert lead["frames"] == 3 and lead["selection_accuracy"] == pytest.approx(2 / 3)
    assert lead["ttc_error_rel"]["count"] == 1
    assert lead["ttc_error_rel"]["median"] == pytest.approx(0.25)


def _reversed(truth: MotionTruth) -> MotionTruth:
    """The same truth with its vehicles in the reverse order."""
    return MotionTruth(
        truth.relative_velocity[::-1], truth.lane_index[::-1], truth.lead_id, truth.lead_ttc_s
    )
