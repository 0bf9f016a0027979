"""A separate ROS process for test_dds_visibility: what `ros2 node list / param / lifecycle`
ask of hybridnets_node (`cli`), or a camera that streams raw frames to it (`camera`). Prints
one JSON line of what it saw.

    python test/dds_probe.py cli /hybridnets_node
    python test/dds_probe.py camera /hybridnets_node WIDTH HEIGHT RATE_HZ SECONDS
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.node import Node

TIMEOUT_S = 30.0


def spin_until(node: Node, condition: Callable[[], Any], timeout: float = TIMEOUT_S) -> Any:
    """Spin `node` until `condition()` is truthy (returned) or `timeout` s pass (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        rclpy.spin_once(node, timeout_sec=0.05)
    return None


class Caller:
    """Service calls as the CLI makes them: wait for the service, then for the answer."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._clients: dict[str, Any] = {}

    def __call__(self, srv_type: Any, service: str, request: Any) -> Any:
        """The response, or None when the service or its answer did not come in time."""
        if service not in self._clients:
            self._clients[service] = self.node.create_client(srv_type, service)
        client = self._clients[service]
        if not client.wait_for_service(timeout_sec=TIMEOUT_S):
            return None
        future = client.call_async(request)
        rclpy.spin_until_future_complete(self.node, future, timeout_sec=TIMEOUT_S)
        return future.result()


def cli(node: Node, target: str) -> dict[str, Any]:
    """Listed in the graph; parameter names, then all their values fetched at once (as `ros2
    param dump` does); lifecycle state, two transitions."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState
    from rcl_interfaces.srv import GetParameters, ListParameters

    call = Caller(node)

    def listed() -> bool:
        names = node.get_node_names_and_namespaces()
        return any(f"{ns.rstrip('/')}/{name}" == target for name, ns in names)

    seen: dict[str, Any] = {"listed": bool(spin_until(node, listed))}
    reply = call(ListParameters, f"{target}/list_parameters", ListParameters.Request())
    names = list(reply.result.names) if reply else []
    seen["names"] = names
    reply = call(GetParameters, f"{target}/get_parameters", GetParameters.Request(names=names))
    seen["values"] = None if reply is None else len(reply.values)

    def state() -> str | None:
        reply = call(GetState, f"{target}/get_state", GetState.Request())
        return None if reply is None else reply.current_state.label

    seen["states"] = [state()]
    for transition in (Transition.TRANSITION_DEACTIVATE, Transition.TRANSITION_ACTIVATE):
        request = ChangeState.Request(transition=Transition(id=transition))
        reply = call(ChangeState, f"{target}/change_state", request)
        seen["states"].append(state() if reply is not None and reply.success else None)
    return seen


def camera(
    node: Node, target: str, width: int, height: int, rate: float, seconds: float
) -> dict[str, Any]:
    """Stream bgr8 frames at `rate`; count the frames answered on ~/detections and what the
    node's /diagnostics last said it received and processed."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray

    reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    answered: set[int] = set()
    diagnostics: list[dict[str, str]] = []

    def on_diagnostics(msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name == f"{target}: perception":  # not the calibration statuses
                diagnostics.append({kv.key: kv.value for kv in status.values})

    detections = node.create_subscription(
        Detection2DArray,
        f"{target}/detections",
        lambda m: answered.add(m.header.stamp.sec),
        reliable,
    )
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, reliable)
    images = node.create_publisher(Image, "image", 10)  # reliable, as image_transport and bag play
    matched = spin_until(
        node, lambda: images.get_subscription_count() and detections.get_publisher_count()
    )
    seen: dict[str, Any] = {"matched": bool(matched), "sent": 0}
    if not matched:
        return seen
    msg = Image(width=width, height=height, encoding="bgr8", step=width * 3)
    msg.data = bytes(range(256)) * (width * height * 3 // 256) + bytes(width * height * 3 % 256)
    count = round(rate * seconds)
    start = time.monotonic()
    for index in range(1, count + 1):
        # Frames are told apart by header.stamp.sec = 1, 2, ...: stamps the node copies into
        # every output; keep serving callbacks while waiting for the next frame's time.
        due = start + index / rate
        spin_until(node, lambda due=due: time.monotonic() >= due, timeout=2.0 / rate)
        msg.header.stamp.sec = index
        images.publish(msg)
    seen["sent"] = count

    def settled() -> bool:
        """The node is idle (two reports in a row with the same counts) and every frame it
        says it processed has been answered here."""
        if len(diagnostics) < 2:
            return False
        counts = [(d["frames_received"], d["frames_processed"]) for d in diagnostics[-2:]]
        return counts[0] == counts[1] and int(counts[1][1]) <= len(answered)

    spin_until(node, settled)
    last = diagnostics[-1] if diagnostics else {}
    seen.update(
        answered=len(answered),
        node_received=int(last.get("frames_received", 0)),
        node_processed=int(last.get("frames_processed", 0)),
    )
    return seen


def main() -> None:
    role, target, *rest = sys.argv[1:]
    rclpy.init()
    node = rclpy.create_node(f"dds_probe_{role}")
    try:
        if role == "cli":
            seen = cli(node, target)
        else:
            width, height, rate, seconds = (
                int(rest[0]),
                int(rest[1]),
                float(rest[2]),
                float(rest[3]),
            )
            seen = camera(node, target, width, height, rate, seconds)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    print(json.dumps(seen), flush=True)


if __name__ == "__main__":
    main()
