"""The node process against hostile input and signals: nothing kills it, nothing hangs it, and it
always stops cleanly; without torch or with unparseable arguments it exits with one line."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from import_block import import_blocking_shim
from ros_fixtures import (
    compressed_frame,
    diagnostic_values,
    node_command,
    raw_frame,
    require_ros,
    stamp,
    stamp_ns_of,
    wait_until,
)

require_ros()

from node_process import CONFIGURED_LINE, LOADING_LINE, NodeProcess, stop_all
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from ros_session import Ros, next_stamp, set_parameters
from sensor_msgs.msg import CameraInfo, CompressedImage, Image


def camera_info(fx: float, width: int, height: int, when: int) -> CameraInfo:
    info = CameraInfo(width=width, height=height)
    info.k = [fx, 0.0, width / 2, 0.0, fx, height / 2, 0.0, 0.0, 1.0]
    info.p = [fx, 0.0, width / 2, 0.0, 0.0, fx, height / 2, 0.0, 0.0, 0.0, 1.0, 0.0]
    stamp(info, when)
    return info


def header_bomb(fmt: str, side: int) -> CompressedImage:
    """A tiny valid-looking image whose header declares side x side pixels."""
    _, encoded = cv2.imencode(".png" if fmt == "png" else ".jpg", np.zeros((8, 8, 3), np.uint8))
    data = bytearray(encoded.tobytes())
    if fmt == "png":
        data[16:24] = side.to_bytes(4, "big") * 2
    else:
        at = data.find(b"\xff\xc0")
        data[at + 5 : at + 9] = side.to_bytes(2, "big") * 2
    msg = CompressedImage(format=fmt)
    msg.data = bytes(data)
    stamp(msg, next_stamp())
    return msg


def malformed_frames(rng: np.random.Generator, count: int) -> list[Any]:
    """Raw and compressed frames the node must reject, of every kind found so far."""
    kinds = []
    for index in range(count):
        kind = index % 8
        if kind == 0:
            msg = raw_frame(64, 48, "bgr8", next_stamp())
            msg.encoding = rng.choice(["32FC1", "yuv422", "", "bayer_rggb8"])
        elif kind == 1:
            msg = raw_frame(64, 48, "rgb8", next_stamp())
            msg.data = bytes(msg.data[: int(rng.integers(0, 64 * 48 * 3))])
        elif kind == 2:
            msg = raw_frame(64, 48, "rgb8", next_stamp())
            msg.step = int(rng.integers(0, 64 * 3))
        elif kind == 3:  # extreme aspect ratios: vanish in the letterbox
            width, height = [(16384, 2), (8000, 2), (2, 8000)][index % 3]
            msg = raw_frame(width, height, "mono8", next_stamp())
        elif kind == 4:
            msg = Image(encoding="bgr8", width=100000, height=100000, step=300000)
            stamp(msg, next_stamp())
        elif kind == 5:
            msg = header_bomb("png" if index % 2 else "jpeg", int(rng.choice([20000, 32000])))
        elif kind == 6:
            msg = CompressedImage(format="jpeg")
            msg.data = rng.integers(0, 256, int(rng.integers(1, 600)), dtype=np.uint8).tobytes()
            stamp(msg, next_stamp())
        else:
            msg = compressed_frame(64, 48, "jpeg", next_stamp())
            msg.data = bytes(msg.data[: len(msg.data) // 3])
        kinds.append(msg)
    return kinds


def latest_diagnostics(listener: Any, name: str) -> dict[str, str] | None:
    """The key/values of the newest /diagnostics status of node `name`, or None."""
    for msg in reversed(listener.received("diagnostics")):
        if msg.status and msg.status[0].name == f"{name}: perception":
            return diagnostic_values(msg)
    return None


def test_fuzzed_inputs_never_stop_the_node(private_ros: Ros, weights: Path, tmp_path: Path) -> None:
    """A node process gets a few hundred malformed images, bad camera_info messages and
    refused parameter requests; valid frames are still answered, with their ground outputs."""
    rng = np.random.default_rng(12)
    params = ["-p", "conf_threshold:=0.0", "-p", "max_detections:=20"]
    params += ["-p", "camera.fx:=400.0", "-p", "camera.fy:=400.0", "-p", "camera.cx:=319.5"]
    params += ["-p", "camera.cy:=239.5", "-p", "camera.pitch:=0.2"]
    raw_node = NodeProcess(tmp_path, "/fuzz_raw", weights, *params)
    compressed_node = NodeProcess(
        tmp_path, "/fuzz_compressed", weights, *params, "-p", "input_mode:=compressed"
    )
    try:
        raw, compressed = (
            private_ros.listener("/fuzz_raw"),
            private_ros.listener("/fuzz_compressed"),
        )
        raw_node.wait_subscribed(raw.raw)
        compressed_node.wait_subscribed(compressed.compressed)
        info_pub = raw.node.create_publisher(CameraInfo, "camera_info", 10)
        assert wait_until(lambda: info_pub.get_subscription_count() > 0, 10.0)
        for bad in (1e308, math.nan, -5.0, 0.0, 1e-300):  # 1e308 on 1x1 was accepted before
            info_pub.publish(camera_info(bad, 1, 1, next_stamp()))
            info_pub.publish(camera_info(bad, 640, 480, next_stamp()))
        for msg in malformed_frames(rng, 320):
            if isinstance(msg, CompressedImage):
                compressed.compressed.publish(msg)
            else:
                raw.raw.publish(msg)
            time.sleep(0.003)  # the stimulus, not synchronisation: a camera at a few hundred Hz
        for key, value in (("max_rate", 1e-10), ("grid.x_max", -1.0), ("camera.z", 0.0)):
            (result,) = set_parameters(raw, "/fuzz_raw/hybridnets_node", **{key: value})
            assert not result.successful and result.reason, key
        for namespace, listener, frame in (
            ("/fuzz_raw", raw, raw_frame(640, 480, "bgr8", next_stamp())),
            ("/fuzz_compressed", compressed, compressed_frame(640, 480, "jpeg", next_stamp())),
        ):
            name = f"{namespace}/hybridnets_node"
            rejected = lambda n=name, ls=listener: int(  # noqa: E731
                (latest_diagnostics(ls, n) or {}).get("frames_rejected", 0)
            )
            assert wait_until(lambda r=rejected: r() > 50, 60.0), "malformed frames not counted"
            answer = listener.send_until_answered(frame)
            assert len(answer.detections) == 20
            values = latest_diagnostics(listener, name)
            assert values["frames_failed"] == "0", values["last_error"]
        grid_frame = raw_frame(640, 480, "rgb8", next_stamp())
        raw.send_until_answered(grid_frame)
        assert raw.wait_for("grid", stamp_ns_of(grid_frame), 30.0) is not None
        for node in (raw_node, compressed_node):
            assert node.returncode is None, node.output()
    finally:
        stop_all(raw_node, compressed_node)


def test_a_parameter_request_rclpy_cannot_parse_does_not_stop_the_node(
    private_ros: Ros, weights: Path, tmp_path: Path
) -> None:
    """rclpy's parameter service raises on an unknown parameter type; the node answers such a
    parameter with a failed result (the valid one beside it applied) and keeps answering
    frames (before, the exception escaped spin: first the node exited 1, then the client was
    never answered)."""
    node = NodeProcess(tmp_path, "/bad_request", weights, "-p", "conf_threshold:=0.0")
    try:
        listener = private_ros.listener("/bad_request")
        node.wait_subscribed(listener.raw)
        client = listener.node.create_client(
            SetParameters, "/bad_request/hybridnets_node/set_parameters"
        )
        assert client.wait_for_service(timeout_sec=90.0)
        bogus = ParameterMsg(name="conf_threshold", value=ParameterValue(type=42))
        valid = Parameter("max_rate", value=0.0).to_parameter_msg()
        future = client.call_async(SetParameters.Request(parameters=[bogus, valid]))
        assert wait_until(future.done, 30.0), "the unparseable request was never answered"
        refused, applied = future.result().results
        assert not refused.successful
        assert "conf_threshold" in refused.reason and "type" in refused.reason
        assert applied.successful, applied.reason
        assert node.returncode is None, node.output()
        assert "callback failed" not in node.output()
        answer = listener.send_until_answered(raw_frame(320, 240, "bgr8", next_stamp()))
        assert len(answer.detections) == 100
        (result,) = set_parameters(listener, "/bad_request/hybridnets_node", conf_threshold=0.5)
        assert result.successful
        listener.node.destroy_client(client)
    finally:
        output = node.stop()
    assert node.returncode == 0, output


@pytest.mark.parametrize(
    ("signals", "gap_s", "streaming"),
    [
        ((signal.SIGINT, signal.SIGINT), 0.02, False),  # the terminal's Ctrl-C plus launch's own
        ((signal.SIGINT, signal.SIGINT), 0.02, True),
        ((signal.SIGTERM, signal.SIGINT), 0.02, True),
        ((signal.SIGINT, signal.SIGINT), 0.6, False),  # a second Ctrl-C while it shuts down
        ((signal.SIGTERM, signal.SIGTERM), 0.3, True),  # `ros2 run` and a second SIGTERM
        ((signal.SIGINT, signal.SIGTERM, signal.SIGINT), 0.2, True),
        ((signal.SIGINT, signal.SIGINT, signal.SIGINT), 1.0, False),
    ],
    ids=[
        "sigint-twice-idle",
        "sigint-twice-streaming",
        "sigterm-then-sigint-streaming",
        "sigint-twice-0.6s-idle",
        "sigterm-twice-0.3s-streaming",
        "three-signals-0.2s-streaming",
        "sigint-thrice-1s-idle",
    ],
)
def test_quick_signals_stop_the_node_cleanly(
    private_ros: Ros,
    weights: Path,
    tmp_path: Path,
    signals: tuple[int, ...],
    gap_s: float,
    streaming: bool,
) -> None:
    """However many SIGINT/SIGTERM arrive, in whatever rhythm, the node exits 0 without a
    traceback (a signal that reached it while the interpreter finalised used to kill it)."""
    namespace = f"/signals_{len(signals)}_{signals[0]}_{int(gap_s * 10)}_{int(streaming)}"
    node = NodeProcess(tmp_path, namespace, weights)
    try:
        listener = private_ros.listener(namespace)
        node.wait_subscribed(listener.raw)
        if streaming:  # frames are being answered, and one more is in flight at the signal
            for _ in range(3):
                listener.send_until_answered(raw_frame(640, 480, "bgr8", next_stamp()))
            listener.raw.publish(raw_frame(640, 480, "bgr8", next_stamp()))
        node.send_signals(*signals, gap_s=gap_s)
        node.wait(30.0)
    finally:
        output = node.stop()
    assert node.returncode == 0, output
    assert "Traceback" not in output and "terminate called" not in output, output


def test_a_signal_while_the_model_loads_stops_the_node_cleanly(
    private_ros: Ros, weights: Path, tmp_path: Path
) -> None:
    """Ctrl-C as soon as the node says it loads the model: it exits 0, no traceback, no native
    crash (rclpy's own signal thread once raced the shutdown: SIGSEGV). The node's own log
    shows the signal came before the model had loaded."""
    node = NodeProcess(tmp_path, "/early_stop", weights)
    try:
        started = wait_until(lambda: LOADING_LINE in node.output(), 90.0)
        assert started, node.output()
        signalled = time.time()
        node.send_signals(signal.SIGINT)
        node.wait(60.0)
    finally:
        output = node.stop()
    assert node.returncode == 0, output
    assert "Traceback" not in output and "Fatal Python error" not in output, output
    loaded = node.logged_at(CONFIGURED_LINE)
    assert loaded is None or loaded > signalled, f"signalled only after loading:\n{output}"


def fatal_start(tmp_path: Path, blocked: tuple[str, ...]) -> str:
    """Start the node with the packages `blocked` unimportable; its output, after checking it
    exited 1 with exactly one FATAL line and no traceback."""
    shim = import_blocking_shim(tmp_path / "shim", blocked)
    command = node_command()
    assert command is not None, "hybridnets_node entry point not installed"
    path = os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}  # the installed node, as colcon's tests run it
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert len([line for line in output.splitlines() if "FATAL" in line]) == 1, output
    assert "Traceback" not in output, output
    return next(line for line in output.splitlines() if "FATAL" in line)


def test_without_torch_the_node_exits_with_its_fatal_line(tmp_path: Path) -> None:
    """A vehicle image without torch: one FATAL line naming the fix (pip: there is no rosdep
    key for efficientnet-pytorch), exit 1."""
    fatal = fatal_start(tmp_path, ("torch", "efficientnet_pytorch"))
    assert "torch" in fatal and "pip install" in fatal and "rosdep" not in fatal, fatal


def test_a_configure_failure_that_is_not_ours_names_its_cause(tmp_path: Path) -> None:
    """A failure inside configure that is no HybridNetsError (here the output messages'
    package cannot be imported, as when a message package's typesupport is missing) is logged
    with its type and message, and the node exits 1 with it."""
    fatal = fatal_start(tmp_path, ("vision_msgs",))
    assert "ModuleNotFoundError" in fatal and "vision_msgs" in fatal, fatal


def test_unparseable_ros_arguments_get_one_line_not_a_traceback() -> None:
    """`-p weights:=` (an empty value rcl cannot parse): exit 1 with the rule rcl refused."""
    command = node_command()
    assert command is not None, "hybridnets_node entry point not installed"
    done = subprocess.run(
        [*command, "--ros-args", "-p", "weights:="], capture_output=True, text=True, timeout=120
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "hybridnets_node: cannot start:" in output and "weights:=" in output, output
    assert "Traceback" not in output, output
