"""bag-eval's camera pose check: a synthetic drive (level camera at 1.5 m) replayed with the
configured pitch 1.5 deg off reports it and a problem; with the right pose, no problem."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from bag_fixtures import RAW, run_cli

from hybridnets_core.bag.drive import CAMERA_HEIGHT_M, SyntheticDrive

SEED, FRAMES, MIN_FRAMES = 2, 8, 4
PITCH_ERROR_DEG = 1.5


def calibration(bag: Path, out: Path, pitch_rad: float) -> dict:
    lane_width = SyntheticDrive(seed=SEED, size=(640, 360), fps=10.0).start.road.lane_width_m
    pose = f"0,0,{CAMERA_HEIGHT_M},0,{pitch_rad},0"
    assert run_cli("bag-eval", "--bag", bag, "--topic", RAW, "--out", out,
                   f"--camera-pose={pose}", "--calibration-lane-width", lane_width,
                   "--calibration-min-frames", MIN_FRAMES) == 0  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert "## Camera pose check" in (out / "report.md").read_text()
    return report["calibration"]


def test_a_pitch_off_by_one_and_a_half_degrees_is_reported(tmp_path: Path) -> None:
    bag = tmp_path / "drive"
    assert run_cli("synth-bag", "--out", bag, "--frames", FRAMES, "--seed", SEED,
                   "--size", "640x360") == 0  # fmt: skip
    # configured less pitched down than the level truth: the camera looks further down
    wrong = calibration(bag, tmp_path / "wrong", -math.radians(PITCH_ERROR_DEG))
    assert wrong["frames"] >= MIN_FRAMES
    assert wrong["pitch_error_deg"] == pytest.approx(PITCH_ERROR_DEG, abs=0.3)
    assert wrong["configured_height_m"] == CAMERA_HEIGHT_M
    assert len(wrong["problems"]) == 1 and "further down" in wrong["problems"][0]
    right = calibration(bag, tmp_path / "right", 0.0)
    assert right["frames"] >= MIN_FRAMES
    assert abs(right["pitch_error_deg"]) < 0.3
    assert right["height_m"] == pytest.approx(CAMERA_HEIGHT_M, abs=0.1)
    assert right["problems"] == []
