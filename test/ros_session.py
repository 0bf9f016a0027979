"""A real rclpy session for node tests: a context with a background executor, the test
parameters of the node, fresh stamps and the parameter service. Import after require_ros()."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import rclpy
from nav_msgs.msg import Odometry
from rcl_interfaces.srv import SetParameters
from rclpy.executors import ExternalShutdownException, ShutdownException, SingleThreadedExecutor
from rclpy.parameter import Parameter
from ros_fixtures import Listener, stamp, wait_until

from hybridnets_ros.node import HybridNetsNode

HEIGHT, PITCH, FOCAL = 1.5, 0.2, 400.0
GRID = {"x_min": 0.0, "x_max": 20.0, "y_min": -5.0, "y_max": 5.0, "resolution": 0.1}
NODE_PARAMS = {
    "conf_threshold": 0.0,  # random weights: every anchor scores above 0, so N = max_detections
    "max_detections": 20,
    "camera.z": HEIGHT,
    "camera.pitch": PITCH,
    "camera.fx": FOCAL,
    "camera.fy": FOCAL,
    "camera.cx": 319.5,
    "camera.cy": 239.5,
    **{f"grid.{key}": value for key, value in GRID.items()},
}


class Ros:
    """One rclpy context with a background executor; nodes added here are cleaned up."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()
        self._nodes: list[Any] = []

    def _spin(self) -> None:
        """Spin until close or shutdown. Tests create and destroy publishers and subscriptions from
        their own thread; one destroyed while the executor builds its wait set raises
        InvalidHandle, which must cost that one wait, not the executor thread."""
        while self.context.ok() and not self._stop.is_set():
            try:
                self.executor.spin_once(timeout_sec=0.1)
            except (ShutdownException, ExternalShutdownException):
                return
            except Exception as error:  # rclpy's InvalidHandle has no public import path
                if type(error).__name__ != "InvalidHandle":
                    raise

    def add(self, node: Any) -> Any:
        """Spin `node` in the background executor and destroy it at the end."""
        self._nodes.append(node)
        self.executor.add_node(node)
        return node

    def start_node(self, weights: Path, namespace: str = "/", **overrides: Any) -> HybridNetsNode:
        """An in-process HybridNetsNode with the test parameters plus `overrides`."""
        values = {"weights": str(weights), **NODE_PARAMS, **overrides}
        node = HybridNetsNode(
            context=self.context,
            namespace=namespace,
            parameter_overrides=[Parameter(k, value=v) for k, v in values.items()],
        )
        return self.add(node)

    def listener(self, namespace: str = "/", node_name: str = "hybridnets_node") -> Listener:
        """A test camera and output recorder in `namespace`; `node_name` is where the outputs
        are (relative to the namespace, or absolute, e.g. one camera of a multi-camera node)."""
        listener = Listener(self.context, namespace, node_name)
        self.add(listener.node)
        return listener

    def close(self) -> None:
        """Stop spinning (before anything it waits on goes away), then the executor, the nodes
        (each stops its own workers) and the context."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.executor.shutdown()
        for node in self._nodes:
            node.destroy_node()
        rclpy.shutdown(context=self.context)


_stamps = iter(range(1_000_000_000, 10**18, 1_000_000))


def next_stamp() -> int:
    """A fresh stamp (ns) so every frame's outputs can be told apart."""
    return next(_stamps)


def camera_model_for(node: HybridNetsNode, stamp_ns: int, camera: str = "") -> Any:
    """The camera model `node` pairs with an image of `camera` stamped `stamp_ns`; None until a
    camera_info it accepts for that stamp has arrived (what tests wait on before the image)."""
    return node.streams[camera].session.camera_info(stamp_ns, node.snapshot.cameras[camera])


def call_service(listener: Listener, service_type: Any, name: str, request: Any) -> Any:
    """One request to a node's service, as the ros2 command line sends it; the response."""
    client = listener.node.create_client(service_type, name)
    try:
        assert client.wait_for_service(timeout_sec=10.0), f"{name} not available"
        future = client.call_async(request)
        assert wait_until(future.done, 10.0), f"{name} timed out"
        return future.result()
    finally:
        listener.node.destroy_client(client)


def set_parameters(listener: Listener, node_name: str, **values: Any) -> list[Any]:
    """Set parameters through the node's parameter service, as `ros2 param set` does."""
    request = SetParameters.Request(
        parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]
    )
    return list(
        call_service(listener, SetParameters, f"{node_name}/set_parameters", request).results
    )


def odometry(stamp_ns: int, x: float, y: float, yaw: float) -> Odometry:
    """An Odometry message of base_link in odom at `stamp_ns`."""
    msg = Odometry()
    stamp(msg, stamp_ns, "odom")
    msg.child_frame_id = "base_link"
    msg.pose.pose.position.x, msg.pose.pose.position.y = x, y
    msg.pose.pose.orientation.z, msg.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
    return msg


def assert_messages_equal(live: dict[str, Any], recorded: dict[str, Any]) -> None:
    """rclpy messages (by output name) equal to rosbags ones, field for field. Fast DDS leaves
    alignment padding unset, so both sides are compared after one round trip through the
    same serializer: equal bytes mean every field is equal."""
    from rclpy.serialization import serialize_message

    from hybridnets_core.bag.typestore import typestore
    from hybridnets_core.outputs.frame import OUTPUT_TYPES

    store = typestore()
    for name, message in live.items():
        msgtype = OUTPUT_TYPES[name]
        sent = store.deserialize_cdr(serialize_message(message), msgtype)
        assert bytes(store.serialize_cdr(sent, msgtype)) == bytes(
            store.serialize_cdr(recorded[name], msgtype)
        ), name
