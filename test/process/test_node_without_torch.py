"""The node process with backend onnxruntime starts and answers a frame with torch unimportable
(a vehicle that deploys the INT8 export installs no torch)."""

# ruff: noqa: F811  (the fixtures imported from helper modules are requested by name)

from __future__ import annotations

from pathlib import Path

import pytest
from export_fixtures import end2end_export, varied_checkpoint  # noqa: F401 (fixtures)
from import_block import blocked_env, no_torch  # noqa: F401 (fixture)


def test_node_with_onnxruntime_without_torch(
    no_torch: Path,
    end2end_export: Path,
    private_ros,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The node process (backend onnxruntime) starts and answers a frame without torch."""
    from ros_fixtures import raw_frame, require_ros

    require_ros()
    from node_process import NodeProcess
    from ros_session import next_stamp

    monkeypatch.setenv("PYTHONPATH", blocked_env(no_torch)["PYTHONPATH"])
    namespace = "/no_torch"
    node = NodeProcess(tmp_path, namespace, end2end_export, "-p", "backend:=onnxruntime")
    try:
        listener = private_ros.listener(namespace)
        node.wait_subscribed(listener.raw)
        answered = listener.send_until_answered(raw_frame(640, 480, "bgr8", next_stamp()))
    finally:
        output = node.stop()
    assert answered is not None, output
    assert node.returncode == 0 and "Traceback" not in output, output
