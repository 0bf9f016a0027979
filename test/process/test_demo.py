"""The demo entry point: a camera stream through the real node, overlays saved to disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
from ros_fixtures import require_ros, ros_environment

require_ros()


def test_demo_plays_frames_through_the_node(tmp_path, small_checkpoint, dashcam_paths) -> None:
    executable = Path(sys.executable).with_name("hybridnets_demo")
    assert executable.exists(), "install the package (pip install -e .) to get the entry point"
    out = tmp_path / "overlays"
    with ros_environment(tmp_path / "logs"):
        result = subprocess.run(
            [str(executable), "--source", str(dashcam_paths[0].parent), "--frames", "2",
             "--rate", "5", "--weights", str(small_checkpoint), "--out", str(out)],
            capture_output=True, text=True, timeout=240, env=dict(os.environ),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 of 2 frames answered" in result.stdout
    overlays = sorted(out.glob("frame_*.jpg"))
    assert [p.name for p in overlays] == ["frame_0000.jpg", "frame_0001.jpg"]
    assert cv2.imread(str(overlays[0])).shape == (720, 1280, 3)


def test_demo_reports_missing_source(tmp_path) -> None:
    executable = Path(sys.executable).with_name("hybridnets_demo")
    with ros_environment(tmp_path / "logs"):
        result = subprocess.run(
            [str(executable), "--source", str(tmp_path / "nothing"), "--out", str(tmp_path)],
            capture_output=True, text=True, timeout=120, env=dict(os.environ),
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("hybridnets_demo: error:")
