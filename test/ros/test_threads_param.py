"""The node's `threads` and `thread_spin`: the CPU threads and spinning of its runtime's
sessions (ONNX Runtime) or of torch. Real rclpy, in-process."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

from pathlib import Path

from ros_fixtures import require_ros

require_ros()

import torch
from ros_session import Ros

from hybridnets_core.cli.main import main
from hybridnets_core.runtime.threads import available_cores


def test_threads_reach_the_onnxruntime_session(ros: Ros, weights: Path, tmp_path: Path) -> None:
    export = tmp_path / "model.onnx"
    argv = ["export", "-w", str(weights), "--height", "256", "--width", "384", "-o", str(export)]
    assert main(argv) == 0
    node = ros.start_node(export, "/threads", backend="onnxruntime", threads=1)
    assert node.describe_parameter("threads").read_only
    options = node.pipeline.runtime.session.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    auto = ros.start_node(export, "/threads_auto", backend="onnxruntime", thread_spin=True)
    options = auto.pipeline.runtime.session.session.get_session_options()
    assert options.intra_op_num_threads == available_cores()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"


def test_threads_reach_torch(ros: Ros, weights: Path) -> None:
    before = torch.get_num_threads()
    try:
        ros.start_node(weights, "/threads_torch", threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
