"""The node's `trt_cache_dir`: the TensorRT engine cache its onnxruntime sessions use (with the
cameras as the engine's batch); torch takes no ONNX Runtime options. Real rclpy, in-process; the
TensorRT provider itself runs only on a GPU machine."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

from pathlib import Path

from ros_fixtures import require_ros

require_ros()

from ros_session import Ros

from hybridnets_core.cli.main import main
from hybridnets_core.runtime.onnx_runtime import OnnxOptions
from hybridnets_ros import params


def test_trt_cache_dir_reaches_the_onnxruntime_session(
    ros: Ros, weights: Path, tmp_path: Path
) -> None:
    assert params.PARAMETERS["trt_cache_dir"][0] == ""  # default: $HYBRIDNETS_HOME/tensorrt
    export = tmp_path / "model.onnx"
    argv = ["export", "-w", str(weights), "--height", "256", "--width", "384", "-o", str(export)]
    assert main(argv) == 0
    node = ros.start_node(export, "/trt", backend="onnxruntime", trt_cache_dir="~/engines")
    assert node.describe_parameter("trt_cache_dir").read_only
    assert node._onnx_options() == OnnxOptions(trt_cache=Path.home() / "engines", trt_batch=1)
    assert node.pipeline.provider == "CPUExecutionProvider"
    assert node.pipeline.runtime.engine_note is None  # no TensorRT on the CPU: no engine
    rig = ros.start_node(export, "/trt_rig", backend="onnxruntime", cameras=["front", "rear"])
    assert rig._onnx_options() == OnnxOptions(trt_batch=2)  # one engine batch per rig frame
    torch_node = ros.start_node(weights, "/trt_torch")
    assert torch_node._onnx_options() is None and torch_node.pipeline.backend_name == "torch"
