"""Helpers for tests that run real rclpy nodes: environment, a test camera and a listener
(its frame builders also make rosbags messages, for tests without ROS).

Import `require_ros()` first: it skips the module when ROS 2 is not installed locally but
fails under CI (CI=true), where the ROS tests must run.
"""

from __future__ import annotations

import importlib
import itertools
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from testdata import REPO

NODE_EXE_ENV = "HYBRIDNETS_NODE_EXE"
TEST_CLASSES = {"car", "bus"}  # the classes of make_weights
FRAME_ID = "camera_optical"  # of the test camera's frames


def require_ros(*modules: str) -> None:
    """Skip (locally) or fail (CI) when rclpy, the vision_msgs interfaces or `modules` (such as
    "hybridnets_ros.msg") cannot be imported."""
    try:
        import rclpy  # noqa: F401
        import vision_msgs.msg  # noqa: F401

        for module in modules:
            importlib.import_module(module)
    except ImportError as exc:
        if os.environ.get("CI"):
            raise RuntimeError(
                f"ROS 2 is required in CI but cannot be imported ({exc}); run scripts/setup_ros.sh"
            ) from exc
        pytest.skip(
            f"ROS 2 not available ({exc}); run scripts/setup_ros.sh", allow_module_level=True
        )


_private_domains = itertools.count()


def session_domain_id() -> int:
    """The DDS domain of this test process's shared sessions."""
    return 1 + os.getpid() % 100


def private_domain_id() -> int:
    """A DDS domain other than the session's that no recent test of this process used, within
    1-101 (above 101 Fast DDS ports fall into Linux's ephemeral range). Tests that start node
    processes take one each: in a long-lived shared domain, Fast DDS at times never discovers
    a newly started process (seen in CI after earlier node processes had come and gone)."""
    while True:
        domain = 1 + (os.getpid() + 1 + next(_private_domains)) % 101
        if domain != session_domain_id():
            return domain


@contextmanager
def ros_environment(log_dir: Path, domain_id: int | None = None) -> Iterator[dict[str, str]]:
    """Private ROS_DOMAIN_ID (the session's, or `domain_id`), ROS_LOG_DIR in tmp and the Fast
    DDS profile for large images the launch file gives the node, restored afterwards. Node
    processes started inside inherit them."""
    wanted = {
        "ROS_LOG_DIR": str(log_dir),
        "ROS_DOMAIN_ID": str(session_domain_id() if domain_id is None else domain_id),
        "FASTDDS_DEFAULT_PROFILES_FILE": str(REPO / "config" / "fastdds_large_images.xml"),
        "RCUTILS_COLORIZED_OUTPUT": "0",
    }
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield wanted
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def make_weights(path: Path, input_size: tuple[int, int] = (256, 384)) -> Path:
    """A random coef-0 checkpoint whose road and lane masks cover every pixel.

    Multilabel segmentation with a zero 1x1 head and a large bias makes both masks full,
    so ground-grid results are known exactly while detections stay random.
    """
    import torch

    from hybridnets_core import HybridNets, ModelConfig
    from hybridnets_core.model.checkpoint import save_checkpoint

    torch.manual_seed(0)
    config = ModelConfig(
        compound_coef=0,
        obj_list=["car", "bus"],
        seg_list=["road", "lane"],
        seg_mode="multilabel",
        input_size=input_size,
    )
    model = HybridNets.from_config(config)
    head = model.segmentation_head[0]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(10.0)
    save_checkpoint(path, model, config)
    return path


def raw_frame(
    width: int, height: int, encoding: str, stamp_ns: int, pad: int = 0, factory: Any = None
) -> Any:
    """A sensor_msgs/Image of random pixels; `pad` extra bytes at the end of every row. An
    rclpy message, or one of `factory` (a MessageFactory, e.g. RosbagsFactory: no ROS needed)."""
    from hybridnets_core.outputs import messages
    from hybridnets_core.outputs.codec import RAW_ENCODINGS

    factory = factory or rclpy_factory()
    channels = RAW_ENCODINGS[encoding][0]
    rng = np.random.default_rng(stamp_ns)
    rows = rng.integers(0, 256, (height, width * channels + pad), dtype=np.uint8)
    return factory.new(
        messages.IMAGE,
        header=messages.header(factory, stamp_ns, FRAME_ID),
        height=height,
        width=width,
        encoding=encoding,
        step=width * channels + pad,
        data=factory.uint8_array(rows),
    )


def compressed_frame(width: int, height: int, fmt: str, stamp_ns: int, factory: Any = None) -> Any:
    """A sensor_msgs/CompressedImage ('jpeg' or 'png') of a smooth random picture; rclpy, or
    of `factory` as in raw_frame."""
    from hybridnets_core.outputs import messages

    rng = np.random.default_rng(stamp_ns)
    small = rng.integers(0, 256, (max(height // 16, 1), max(width // 16, 1), 3), dtype=np.uint8)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    ok, encoded = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", image)
    assert ok
    factory = factory or rclpy_factory()
    return messages.compressed_image(
        factory, encoded.tobytes(), fmt, messages.header(factory, stamp_ns, FRAME_ID)
    )


def rclpy_factory() -> Any:
    """The node's MessageFactory (rclpy messages; needs ROS)."""
    from hybridnets_ros.messages import RclpyFactory

    return RclpyFactory()


def stamp(msg: Any, stamp_ns: int, frame_id: str = FRAME_ID) -> None:
    """Set msg.header to a given time (ns) and frame."""
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    msg.header.frame_id = frame_id


def stamp_ns_of(msg: Any) -> int:
    """The header stamp of a message in nanoseconds."""
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


class Listener:
    """A helper node that publishes camera frames and records everything the node publishes."""

    def __init__(
        self, context: Any, namespace: str = "/", node_name: str = "hybridnets_node"
    ) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from nav_msgs.msg import OccupancyGrid
        from rclpy.node import Node
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CompressedImage, Image, PointCloud2
        from vision_msgs.msg import Detection2DArray

        self.node = Node("test_camera", context=context, namespace=namespace)
        self.messages: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        prefix = f"{node_name}/"
        outputs = {
            "detections": Detection2DArray,
            "drivable_mask": Image,
            "lane_mask": Image,
            "grid": OccupancyGrid,
            "lane_points": PointCloud2,
        }
        for name, msg_type in outputs.items():
            self.node.create_subscription(msg_type, prefix + name, self._keep(name), reliable)
        self.node.create_subscription(
            DiagnosticArray, "/diagnostics", self._keep("diagnostics"), reliable
        )
        self.raw = self.node.create_publisher(Image, "image", reliable)
        self.compressed = self.node.create_publisher(CompressedImage, "image/compressed", reliable)
        self.debug_topic = prefix + "debug_image"

    def _keep(self, name: str) -> Callable[[Any], None]:
        def store(msg: Any) -> None:
            with self._lock:
                self.messages.setdefault(name, []).append(msg)

        return store

    def received(self, name: str) -> list[Any]:
        """A copy of the messages of one output received so far."""
        with self._lock:
            return list(self.messages.get(name, []))

    def find(self, name: str, stamp_ns: int) -> Any:
        """The first `name` message stamped `stamp_ns` received so far, or None."""
        return next((m for m in self.received(name) if stamp_ns_of(m) == stamp_ns), None)

    def wait_for(self, name: str, stamp_ns: int, timeout: float = 20.0) -> Any:
        """The first `name` message stamped `stamp_ns`; fails the test after `timeout` s."""
        found = wait_until(lambda: self.find(name, stamp_ns), timeout)
        assert found is not None, f"no {name} message stamped {stamp_ns} within {timeout} s"
        return found

    def send_until_answered(self, msg: Any, tries: int = 5, timeout: float = 10.0) -> Any:
        """Publish a frame, again while no detections answer it (best-effort DDS may lose the
        first frames while a new node's discovery completes); its detections message."""
        publisher = self.compressed if msg.__class__.__name__ == "CompressedImage" else self.raw
        for _ in range(tries):
            publisher.publish(msg)
            answer = wait_until(lambda: self.find("detections", stamp_ns_of(msg)), timeout)
            if answer is not None:
                return answer
        raise AssertionError(f"the node never answered frame {stamp_ns_of(msg)}")

    def send(self, msg: Any, output: str = "detections", timeout: float = 20.0) -> Any:
        """Publish a frame once its subscriber is matched; return the `output` message for it."""
        publisher = self.compressed if msg.__class__.__name__ == "CompressedImage" else self.raw
        assert wait_until(lambda: publisher.get_subscription_count() > 0, 10.0), "no subscriber"
        publisher.publish(msg)
        return self.wait_for(output, stamp_ns_of(msg), timeout)


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.01) -> Any:
    """Poll `condition` until it returns something truthy (returned) or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return None


def check_detections(
    msg: Any, frame: Any, width: int, height: int, count: int, classes: set[str] = TEST_CLASSES
) -> None:
    """Header copied, `count` boxes inside the image, class names and scores in range."""
    assert msg.header == frame.header
    assert len(msg.detections) == count
    for det in msg.detections:
        assert det.header == frame.header
        box = det.bbox
        assert box.size_x >= 0 and box.size_y >= 0
        x, y = box.center.position.x, box.center.position.y
        assert x - box.size_x / 2 >= -1e-3 and x + box.size_x / 2 <= width + 1e-3
        assert y - box.size_y / 2 >= -1e-3 and y + box.size_y / 2 <= height + 1e-3
        (hypothesis,) = det.results
        assert hypothesis.hypothesis.class_id in classes
        assert 0.0 <= hypothesis.hypothesis.score <= 1.0
    tracked = [det.id for det in msg.detections if det.id]  # confirmed tracks only
    assert len(set(tracked)) == len(tracked) and all(ident.isdigit() for ident in tracked)


def diagnostic_values(msg: Any) -> dict[str, str]:
    """key -> value of the first status of a DiagnosticArray."""
    return {kv.key: kv.value for kv in msg.status[0].values}


def node_command() -> list[str] | None:
    """How to start the installed `hybridnets_node` entry point, or None if it is not installed.

    Looks at $HYBRIDNETS_NODE_EXE, then <prefix>/lib/hybridnets_ros/hybridnets_node for every
    AMENT_PREFIX_PATH entry (a sourced colcon install) and this interpreter's prefix, then
    PATH and this interpreter's bin folder (pip install).
    """
    prefixes = [*os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep), sys.prefix]
    candidates = [os.environ.get(NODE_EXE_ENV)]
    candidates += [
        str(Path(p) / "lib" / "hybridnets_ros" / "hybridnets_node") for p in prefixes if p
    ]
    candidates += [
        shutil.which("hybridnets_node"),
        str(Path(sys.executable).parent / "hybridnets_node"),
    ]
    for candidate in filter(None, candidates):
        if os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return [candidate]
    return None
