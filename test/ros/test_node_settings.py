"""Run-time parameter changes with real rclpy: the node's settings are one immutable snapshot,
a batch in flight keeps the one it started with, and ~/label_info is announced again (latched)
when what it carries changes."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from ros_fixtures import raw_frame, require_ros, stamp_ns_of, wait_until

require_ros()

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_session import Ros, next_stamp, set_parameters
from vision_msgs.msg import LabelInfo

from hybridnets_core.serving.streams import Arrival

LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


def test_label_info_is_announced_again_when_the_threshold_changes(ros: Ros, weights: Path) -> None:
    node = ros.start_node(weights, "/labels")
    listener = ros.listener("/labels")
    name = node.get_fully_qualified_name()
    labels: list[Any] = []
    listener.node.create_subscription(
        LabelInfo, "hybridnets_node/label_info", labels.append, LATCHED
    )
    assert wait_until(lambda: labels, 10.0), "no latched label_info"
    classes = [c.class_name for c in labels[0].class_map]
    assert classes == node.pipeline.class_names and labels[0].threshold == 0.0

    assert set_parameters(listener, name, conf_threshold=0.4)[0].successful
    assert wait_until(lambda: len(labels) == 2, 10.0), "label_info not sent again"
    assert labels[1].threshold == pytest.approx(0.4)
    assert [c.class_name for c in labels[1].class_map] == classes
    # A change that leaves the label info as it was sends nothing: the next message to arrive
    # is the one of the next threshold change (one publisher, reliable: in order).
    assert set_parameters(listener, name, max_detections=7)[0].successful
    assert set_parameters(listener, name, conf_threshold=0.1)[0].successful
    assert wait_until(lambda: len(labels) >= 3, 10.0)
    assert labels[2].threshold == pytest.approx(0.1)

    late: list[Any] = []  # a subscriber that joins now gets the newest, latched
    listener.node.create_subscription(LabelInfo, "hybridnets_node/label_info", late.append, LATCHED)
    assert wait_until(lambda: late, 10.0)
    assert late[0].threshold == pytest.approx(0.1)
    assert len(labels) == 3


def test_a_batch_in_flight_keeps_the_settings_it_started_with(ros: Ros, weights: Path) -> None:
    """A batch is decoded and prepared, then detection and output parameters change through
    the parameter service, then the batch finishes: all of it follows the old settings (20
    boxes and a grid); the next frame follows all of the new (3 boxes, no grid)."""
    node = ros.start_node(weights, "/snapshot")
    listener = ros.listener("/snapshot")
    name = node.get_fully_qualified_name()
    grid_topic = node.resolve_topic_name("~/grid")
    (grid_publisher,) = (p for p in node.publishers if p.topic_name == grid_topic)
    assert wait_until(lambda: grid_publisher.get_subscription_count() > 0, 10.0)

    frame = raw_frame(640, 480, "bgr8", next_stamp())
    old = node.snapshot
    batch = node._decode_and_prepare({"": Arrival((frame, time.perf_counter()), time.monotonic())})
    assert batch is not None and batch.settings is old
    try:
        changed = set_parameters(listener, name, max_detections=3, publish_grid=False)
        assert all(result.successful for result in changed)
        new = node.snapshot
        assert new is not old and new.node.detection.max_detections == 3
        assert not new.cameras[""].publish_grid and old.cameras[""].publish_grid
        node._publish_batch(node._infer(batch))
        assert len(listener.wait_for("detections", stamp_ns_of(frame)).detections) == 20
        listener.wait_for("grid", stamp_ns_of(frame))

        current = raw_frame(640, 480, "bgr8", next_stamp())
        assert len(listener.send(current).detections) == 3
    finally:
        set_parameters(listener, name, max_detections=20, publish_grid=True)
    after = raw_frame(640, 480, "bgr8", next_stamp())
    listener.send(after)
    listener.wait_for("grid", stamp_ns_of(after))  # grids arrive in order: none came between
    grids = [stamp_ns_of(grid) for grid in listener.received("grid")]
    assert stamp_ns_of(current) not in grids


@pytest.mark.parametrize(
    ("device", "given", "expected"),
    [("cpu", None, False), ("cuda", None, True), ("cuda:1", False, False), ("cpu", True, True)],
)
def test_overlap_follows_the_device_unless_set(
    ros: Ros, weights: Path, device: str, given: bool | None, expected: bool
) -> None:
    """Unset, `overlap` is on for a CUDA device and off on the CPU; a given value wins. The
    node stays unconfigured, so a CUDA device need not exist to declare its parameters."""
    overrides = {"device": device, **({} if given is None else {"overlap": given})}
    node = ros.start_node(weights, f"/overlap_{len(overrides)}", autostart=False, **overrides)
    assert node.get_parameter("overlap").value is expected
    assert node.settings.behaviour.overlap is expected


def test_the_running_node_uses_the_overlap_it_declares(ros: Ros, weights: Path) -> None:
    node = ros.start_node(weights, "/overlap_cpu")
    assert node.state == "active"
    assert node._runner.overlap is False  # the test node runs on the CPU: overlap off
