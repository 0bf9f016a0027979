"""`bag-eval --live`: a recorded drive replayed over DDS into the real node, in-process, gives
the offline run's detections."""

# ruff: noqa: E402, F811  (ROS imports follow the skip-or-fail check; the fixtures imported
# from a helper module are requested by name)
from __future__ import annotations

import json
import threading

import numpy as np
from bag_fixtures import (
    FRAMES,
    NET,
    NODE,
    RAW,
    raw_drive,  # noqa: F401 (fixture)
    read_all,
    run_cli,
    weights,  # noqa: F401 (fixture)
)
from ros_fixtures import require_ros, ros_environment

require_ros()

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from hybridnets_core.outputs import messages
from hybridnets_ros.node import HybridNetsNode


def test_live_replay_into_the_node_matches_offline(weights, raw_drive, tmp_path) -> None:
    """The real node (in-process, its own rclpy context) fed by `bag-eval --live` over DDS."""
    settings = {"conf_threshold": 0.0, "max_detections": 20, "qos.reliability": "reliable"}
    common = ("--bag", raw_drive[0], "--topic", RAW, "-w", weights, "--labels", raw_drive[1],
              "--input-size", NET)  # fmt: skip
    offline_flags = ("--conf", 0.0, "--max-det", 20, "--batch-size", 1)
    assert run_cli("bag-eval", *common, *offline_flags, "--out", tmp_path / "offline") == 0
    with ros_environment(tmp_path / "ros_log"):
        context = rclpy.Context()
        rclpy.init(context=context)
        overrides = [
            Parameter(k, value=v) for k, v in {"weights": str(weights), **settings}.items()
        ]
        node = HybridNetsNode(context=context, parameter_overrides=overrides)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        try:
            # the node's thresholds come from the node: bag-eval's own would not apply
            assert run_cli("bag-eval", *common, *offline_flags, "--out", tmp_path / "x",
                           "--live") == 2  # fmt: skip
            assert run_cli("bag-eval", *common, "--out", tmp_path / "live", "--live",
                           "--rate", 0.2, "--publish-as", f"{RAW}:=/image",
                           "--publish-as", "/camera/camera_info:=/camera_info") == 0  # fmt: skip
        finally:
            node.stop()
            executor.shutdown()
            node.destroy_node()
            rclpy.shutdown(context=context)
            spinner.join(timeout=5.0)
    live = json.loads((tmp_path / "live" / "report.json").read_text())
    offline = json.loads((tmp_path / "offline" / "report.json").read_text())
    assert live["metrics"] is None and set(live["latency_ms"]) == {"end_to_end"}
    received = {r["stamp_ns"]: r for r in live["per_frame"]}
    assert len(received) + len(live["frames_skipped"]) == FRAMES and received
    assert set(live["output_topics"]) == set(offline["output_topics"])
    # Every frame the node answered carries the offline run's detections; with no drops the
    # metrics of the published messages are identical.
    live_bag, offline_bag = (
        read_all(tmp_path / "live" / "bag"),
        read_all(tmp_path / "offline" / "bag"),
    )
    offline_detections = {
        messages.stamp_ns(m.header): m for _, m in offline_bag[f"{NODE}/detections"]
    }
    for log_ns, msg in live_bag[f"{NODE}/detections"]:
        stamp = messages.stamp_ns(msg.header)
        assert stamp in received and log_ns == stamp  # logged at the input frame's log time
        ours, theirs = (messages.detections_from_msg(m) for m in (msg, offline_detections[stamp]))
        np.testing.assert_allclose(ours[0], theirs[0], atol=1e-3)
        assert ours[2] == theirs[2]
    if not live["frames_skipped"]:  # the node's own thresholds recorded, as offline's flags
        assert live["published_metrics"] == offline["published_metrics"]
    assert offline["published_metrics"]["images"] == FRAMES
