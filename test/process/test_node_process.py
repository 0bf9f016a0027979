"""The installed hybridnets_node as its own process: it answers a camera and stops on Ctrl-C,
and bad weights stop it with one fatal line."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

from pathlib import Path

import pytest
from ros_fixtures import check_detections, raw_frame, require_ros

require_ros()

from node_process import NodeProcess
from ros_session import Ros, next_stamp

FEW_DETECTIONS = ("-p", "conf_threshold:=0.0", "-p", "max_detections:=5")


def test_installed_entry_point_answers_a_camera_and_stops_on_ctrl_c(
    private_ros: Ros, weights: Path, tmp_path: Path
) -> None:
    node = NodeProcess(tmp_path, "/process", weights, *FEW_DETECTIONS)
    try:
        listener = private_ros.listener("/process")
        node.wait_subscribed(listener.raw)
        frame = raw_frame(1280, 720, "bgr8", next_stamp())
        answer = listener.send_until_answered(frame)  # best effort: a lost frame is resent
        check_detections(answer, frame, 1280, 720, count=5)
    finally:
        output = node.stop(20.0)
    assert node.returncode == 0, output
    assert "Traceback" not in output, output


@pytest.mark.parametrize("content", [None, b"hello world\n"], ids=["missing", "garbage"])
def test_bad_weights_exit_with_one_fatal_line(
    ros: Ros, tmp_path: Path, content: bytes | None
) -> None:
    weights = tmp_path / "weights.pth"
    if content is not None:
        weights.write_bytes(content)
    node = NodeProcess(tmp_path / "logs", "/broken", weights, *FEW_DETECTIONS)
    output = node.wait(90.0)
    assert node.returncode == 1, output
    fatal = [line for line in output.splitlines() if "FATAL" in line]
    assert len(fatal) == 1 and str(weights) in fatal[0], output
    assert "Traceback" not in output, output
