"""Stability scores without labels (bag/stability.py): their definitions on hand-made tracks,
grids and lanes, and on a synthetic drive, that a worse model (the built-in one with noise
added to its weights) scores worse, as it does on the labelled metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from bag_fixtures import RAW, run_cli

from hybridnets_core.bag.stability import (
    MODE_GROUND,
    MODE_RAW,
    StabilityMetrics,
    grid_iou,
    lateral_offset,
    move_grid,
)
from hybridnets_core.model.checkpoint import BUILTIN_WEIGHTS
from hybridnets_core.scene.ego_motion import EgoPose
from hybridnets_core.scene.ground import DRIVABLE, NOT_DRIVABLE, UNSEEN, GridSpec

DASHCAM = Path(__file__).resolve().parents[1] / "data" / "dashcam"
NS = 100_000_000  # 10 Hz
GRID = GridSpec(0.0, 40.0, -10.0, 10.0, 0.2)


def test_tracks_and_flicker_follow_their_definitions() -> None:
    """Track "a" 20 frames with one frame missing, "b" 3 frames (short), "c" missing two
    frames in a row (no flicker), "" never counts."""
    metrics = StabilityMetrics()
    for frame in range(20):
        ids = ["", "a"] if frame != 5 else [""]
        ids += ["b"] if frame < 3 else []
        ids += ["c"] if frame not in (10, 11) else []
        metrics.add_tracks(frame * NS, ids)
    summary = metrics.summary()
    seen = 19 + 3 + 18  # (track, frame) pairs
    assert summary["frame_interval_s"] == 0.1
    assert summary["tracks"]["count"] == 3
    assert summary["tracks"]["track_seconds"] == pytest.approx(seen * 0.1)
    assert summary["tracks"]["tracks_per_track_second"] == pytest.approx(3 / (seen * 0.1), 1e-3)
    assert summary["tracks"]["short_track_share"] == pytest.approx(1 / 3, 1e-3)
    assert summary["flicker"]["one_frame_gaps"] == 1
    assert summary["flicker"]["flicker_per_track_second"] == pytest.approx(1 / 4.0, 1e-3)
    assert summary["mask_iou"]["count"] == 0 and summary["mask_iou"]["mode"] is None


def road_grid(pose: EgoPose) -> np.ndarray:
    """The grid seen from `pose` of a road 4 m wide along odom's x, drivable for 10 <= x < 30
    (odom), occupied around it."""
    x, y = GRID.cell_centres()
    odom_x, odom_y = pose.to_odom(x, y)
    road = (np.abs(odom_y) < 2.0) & (odom_x >= 10.0) & (odom_x < 30.0)
    return np.where(road, DRIVABLE, NOT_DRIVABLE).astype(np.int8)


def test_ego_motion_is_taken_out_of_consecutive_grids() -> None:
    before, after = EgoPose(0.0, 0.0, 0.0), EgoPose(1.6, 0.4, 0.02)
    old, new = road_grid(before), road_grid(after)
    moved = move_grid(old, GRID, before, after)
    assert (moved[:, -5:] == UNSEEN).all()  # the far edge: ahead of what the old grid saw
    assert grid_iou(moved, new) > 0.95
    assert grid_iou(old, new) < 0.85  # without the motion, the road seems to jump


def test_the_lane_offset_is_read_where_the_centre_line_reaches() -> None:
    centre = np.array([[2.0, 0.5, 0.0], [20.0, 1.4, 0.0]])
    assert lateral_offset(centre) == pytest.approx(0.9)
    assert lateral_offset(centre[::-1]) == pytest.approx(0.9)
    assert lateral_offset(centre, 25.0) is None
    assert lateral_offset(None) is None


def noisy_weights(path: Path, scale: float) -> Path:
    """The built-in model with Gaussian noise of `scale` times each weight tensor's spread."""
    payload = torch.load(BUILTIN_WEIGHTS, weights_only=True)
    generator = torch.Generator().manual_seed(0)
    for tensor in payload["model"].values():
        if tensor.is_floating_point() and tensor.ndim > 1:
            noise = torch.randn(tensor.shape, generator=generator).to(tensor.dtype)
            tensor += scale * tensor.float().std() * noise
    torch.save(payload, path)
    return path


def evaluate(bag: Path, out: Path, *extra: object) -> dict:
    assert run_cli("bag-eval", "--bag", bag, "--topic", RAW, "--out", out, *extra) == 0
    return json.loads((out / "report.json").read_text())


def test_a_noisier_model_is_less_stable_and_less_accurate(tmp_path: Path) -> None:
    bag = tmp_path / "drive"
    assert run_cli("synth-bag", "--out", bag, "--frames", 10, "--seed", 2,
                   "--size", "640x360") == 0  # fmt: skip
    good = evaluate(bag, tmp_path / "good")
    worse = evaluate(bag, tmp_path / "worse", "-w", noisy_weights(tmp_path / "n.pth", 0.3))
    for report in (good, worse):
        assert report["stability"]["frames"] == 10
        assert report["stability"]["mask_iou"]["mode"] == MODE_GROUND  # the drive has /tf
    road = "iou_road"
    assert worse["metrics"]["segmentation"]["paper"][road] < good["metrics"]["segmentation"][
        "paper"][road]  # fmt: skip
    assert worse["stability"]["mask_iou"]["median"] < good["stability"]["mask_iou"]["median"]
    jitter = "ego_lane_jitter_m"
    assert worse["stability"][jitter]["median"] > good["stability"][jitter]["median"]


def test_a_bag_without_ego_motion_compares_raw_masks(tmp_path: Path) -> None:
    """The shipped dashcam frames (no /tf, no /odom): consecutive image masks, said so."""
    bag = tmp_path / "dashcam"
    assert run_cli("bag-from-images", "--images", DASHCAM, "--out", bag) == 0
    report = evaluate(bag, tmp_path / "eval")
    assert report["stability"]["frames"] == 6
    assert report["stability"]["mask_iou"]["mode"] == MODE_RAW
    assert report["stability"]["mask_iou"]["count"] == 5
    assert set(report["calibration"]) == {
        "pitch_error_deg", "height_m", "configured_height_m", "frames", "problems"
    }  # fmt: skip
