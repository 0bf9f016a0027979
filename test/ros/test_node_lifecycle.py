"""The managed node and several cameras, with real rclpy: lifecycle transitions through the
real lifecycle services from another node, 2- and 3-camera nodes with one forward pass per
batch, a stopped camera, camera_info matched by stamp, raw images with lens distortion, and the
TF glue's fallback."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ros_fixtures import (
    Listener,
    raw_frame,
    require_ros,
    stamp,
    stamp_ns_of,
    wait_until,
)

require_ros()

from geometry_msgs.msg import Transform
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from ros_session import NODE_PARAMS, Ros, camera_model_for, next_stamp
from sensor_msgs.msg import CameraInfo

from hybridnets_core.scene.ground import CameraPose
from hybridnets_ros.tf import CameraPoseSource, pose_of_transform


def call(listener: Listener, service: Any, name: str, request: Any) -> Any:
    client = listener.node.create_client(service, name)
    try:
        assert client.wait_for_service(timeout_sec=10.0), name
        future = client.call_async(request)
        assert wait_until(future.done, 30.0), f"{name} timed out"
        return future.result()
    finally:
        listener.node.destroy_client(client)


def transition(listener: Listener, node: str, transition_id: int) -> bool:
    request = ChangeState.Request(transition=Transition(id=transition_id))
    return call(listener, ChangeState, f"{node}/change_state", request).success


def lifecycle_state(listener: Listener, node: str) -> str:
    return call(listener, GetState, f"{node}/get_state", GetState.Request()).current_state.label


def image_subscribed(node: Any) -> bool:
    """Whether the node holds a subscription to its camera topic (its own view: no discovery)."""
    return any(sub.topic_name.endswith("/image") for sub in node.subscriptions)


def test_lifecycle_transitions_through_the_services(ros: Ros, weights: Path) -> None:
    node = ros.start_node(weights, "/managed", autostart=False)
    listener = ros.listener("/managed")
    name = "/managed/hybridnets_node"
    assert lifecycle_state(listener, name) == "unconfigured" and node.pipeline is None
    assert not image_subscribed(node)  # nothing subscribed before activation

    assert transition(listener, name, Transition.TRANSITION_CONFIGURE)
    assert lifecycle_state(listener, name) == "inactive" and node.pipeline is not None
    assert not image_subscribed(node)  # configured but inactive: the camera is not taken
    while_inactive = raw_frame(320, 240, "bgr8", next_stamp())
    listener.raw.publish(while_inactive)

    assert transition(listener, name, Transition.TRANSITION_ACTIVATE)
    assert lifecycle_state(listener, name) == "active" and image_subscribed(node)
    # The frame published while inactive never reached the node and got no answer; the same
    # frame sent now is answered (it can be processed: only the state kept it out).
    assert listener.find("detections", stamp_ns_of(while_inactive)) is None
    assert len(listener.send(while_inactive).detections) == 20
    assert node.stats.counts["received"] == 1

    assert transition(listener, name, Transition.TRANSITION_DEACTIVATE)
    assert not image_subscribed(node)
    assert wait_until(lambda: listener.raw.get_subscription_count() == 0, 10.0)
    while_deactivated = raw_frame(320, 240, "bgr8", next_stamp())
    listener.raw.publish(while_deactivated)

    assert transition(listener, name, Transition.TRANSITION_CLEANUP)
    assert lifecycle_state(listener, name) == "unconfigured" and node.pipeline is None
    assert transition(listener, name, Transition.TRANSITION_CONFIGURE)  # and back again
    assert transition(listener, name, Transition.TRANSITION_ACTIVATE)
    assert listener.find("detections", stamp_ns_of(while_deactivated)) is None
    assert len(listener.send(while_deactivated).detections) == 20
    assert node.stats.counts["received"] == 2  # nothing arrived while deactivated

    def diagnosed_state() -> str | None:
        for msg in reversed(listener.received("diagnostics")):
            if msg.status[0].name == f"{name}: perception":
                return {kv.key: kv.value for kv in msg.status[0].values}["state"]
        return None

    assert wait_until(lambda: diagnosed_state() == "active", 5.0)
    assert transition(listener, name, Transition.TRANSITION_ACTIVE_SHUTDOWN)
    assert lifecycle_state(listener, name) == "finalized"


def test_a_failing_configure_leaves_the_node_unconfigured(ros: Ros, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pth"
    node = ros.start_node(missing, "/misconfigured", autostart=False)
    listener = ros.listener("/misconfigured")
    name = "/misconfigured/hybridnets_node"
    assert not transition(listener, name, Transition.TRANSITION_CONFIGURE)
    assert lifecycle_state(listener, name) == "unconfigured"
    assert str(missing) in node.configure_error


def send_all(listeners: dict[str, Listener], width: int, height: int) -> dict[str, Any]:
    """One frame to each of these cameras at (about) the same time; camera -> frame."""
    frames = {}
    for camera, listener in listeners.items():
        assert wait_until(lambda ls=listener: ls.raw.get_subscription_count() > 0, 10.0)
        frames[camera] = raw_frame(width, height, "bgr8", next_stamp())
        listener.raw.publish(frames[camera])
    return frames


def camera_listeners(ros: Ros, namespace: str, cameras: list[str]) -> dict[str, Listener]:
    """Per camera: a test camera on <ns>/<camera>/image recording ~/<camera>/... outputs."""
    return {
        camera: ros.listener(f"{namespace}/{camera}", f"{namespace}/hybridnets_node/{camera}")
        for camera in cameras
    }


@pytest.mark.parametrize("cameras", [["front", "rear"], ["front", "left", "right"]])
def test_several_cameras_share_one_forward_pass(
    ros: Ros, weights: Path, cameras: list[str]
) -> None:
    namespace = f"/multi{len(cameras)}"
    node = ros.start_node(weights, namespace, cameras=cameras, batch_timeout=2.0)
    for camera in cameras:  # each camera has its own parameters, defaulting to the flat ones
        assert node.get_parameter(f"{camera}.camera.z").value == NODE_PARAMS["camera.z"]
    listeners = camera_listeners(ros, namespace, cameras)
    for width, height in ((640, 480), (320, 240)):
        frames = send_all(listeners, width, height)
        for camera, frame in frames.items():
            found = listeners[camera].wait_for("detections", stamp_ns_of(frame), 60.0)
            assert found.header == frame.header and len(found.detections) == 20
            assert all(d.bbox.center.position.x <= width for d in found.detections)
            grid = listeners[camera].wait_for("grid", stamp_ns_of(frame), 30.0)
            assert grid.header.frame_id == "base_link"
    stats = node._batcher.stats  # one batch held every camera's frame: one forward pass
    assert all(stats.batched[c] == stats.received[c] for c in cameras)
    # the counter moves just after a frame's last message is sent, so give it a moment
    assert wait_until(lambda: node.stats.counts["processed"] >= 2 * len(cameras), 10.0)


def test_a_stopped_camera_does_not_stall_the_others(ros: Ros, weights: Path) -> None:
    cameras = ["front", "left", "right"]
    node = ros.start_node(weights, "/stalled", cameras=cameras, batch_timeout=0.3)
    listeners = camera_listeners(ros, "/stalled", cameras)
    send_all(listeners, 320, 240)  # every camera once, then "right" stops
    moving = {c: listeners[c] for c in ("front", "left")}
    for _ in range(3):
        frames = send_all(moving, 320, 240)
        for camera, frame in frames.items():
            found = moving[camera].wait_for("detections", stamp_ns_of(frame), 30.0)
            assert found.header.stamp == frame.header.stamp
    assert node._batcher.stats.received["right"] == 1


def test_camera_info_is_matched_to_the_image_by_stamp(ros: Ros, weights: Path) -> None:
    no_fallback = {"camera.fx": 0.0, "camera.fy": 0.0, "camera.info_tolerance": 0.05}
    node = ros.start_node(weights, "/stamped", **no_fallback)
    listener = ros.listener("/stamped")
    info_pub = listener.node.create_publisher(CameraInfo, "camera_info", 10)
    assert wait_until(lambda: info_pub.get_subscription_count() > 0, 10.0)

    def send_with_camera_info(frame: Any, info_offset_ns: int) -> None:
        """camera_info stamped `info_offset_ns` from the frame, held by the node; then the frame."""
        info = pinhole_info(400.0, 640, 480)
        stamp(info, stamp_ns_of(frame) + info_offset_ns)
        info_pub.publish(info)
        assert wait_until(lambda: camera_model_for(node, stamp_ns_of(frame)), 10.0)
        listener.send(frame)

    frame = raw_frame(640, 480, "bgr8", next_stamp())
    send_with_camera_info(frame, 20_000_000)  # 20 ms apart: within the tolerance
    assert listener.wait_for("grid", stamp_ns_of(frame), 20.0) is not None
    late = raw_frame(640, 480, "bgr8", stamp_ns_of(frame) + 900_000_000)  # no camera_info near
    listener.send(late)
    # One writer delivers grids in order, and the late frame was handled before the next was
    # sent: once the next frame's grid is here, a grid of the late frame would be too.
    after = raw_frame(640, 480, "bgr8", stamp_ns_of(late) + 900_000_000)
    send_with_camera_info(after, 0)
    assert listener.wait_for("grid", stamp_ns_of(after), 20.0) is not None
    assert listener.find("grid", stamp_ns_of(late)) is None


def pinhole_info(focal: float, width: int, height: int) -> CameraInfo:
    info = CameraInfo(width=width, height=height, distortion_model="plumb_bob")
    info.k = [focal, 0.0, (width - 1) / 2, 0.0, focal, (height - 1) / 2, 0.0, 0.0, 1.0]
    info.p = [focal, 0.0, (width - 1) / 2, 0.0, 0.0, focal, (height - 1) / 2, 0.0, 0.0, 0.0,
              1.0, 0.0]  # fmt: skip
    info.d = [0.0] * 5
    return info


def test_raw_images_are_undistorted_for_the_ground_outputs(ros: Ros, weights: Path) -> None:
    """camera.rectified false: K and D are used; with full masks the grid's visible cells are
    what the core projector gives for that lens (and differ from the undistorted camera)."""
    from hybridnets_core.scene.camera import CameraModel
    from hybridnets_core.scene.ground import GridSpec, GroundProjector

    params = {"camera.fx": 0.0, "camera.fy": 0.0, "camera.rectified": False}
    node = ros.start_node(weights, "/raw_lens", **params)
    listener = ros.listener("/raw_lens")
    info_pub = listener.node.create_publisher(CameraInfo, "camera_info", 10)
    assert wait_until(lambda: info_pub.get_subscription_count() > 0, 10.0)
    info = pinhole_info(400.0, 640, 480)
    info.d = [-0.25, 0.06, 0.0, 0.0, 0.0]
    frame = raw_frame(640, 480, "bgr8", next_stamp())
    stamp(info, stamp_ns_of(frame))
    info_pub.publish(info)
    assert wait_until(lambda: camera_model_for(node, stamp_ns_of(frame)), 10.0)
    listener.send(frame)
    grid = listener.wait_for("grid", stamp_ns_of(frame), 20.0)
    cells = np.asarray(grid.data, np.int8).reshape(grid.info.height, grid.info.width)
    spec = GridSpec(**{k.split(".")[1]: v for k, v in NODE_PARAMS.items() if k.startswith("grid.")})
    pose = CameraPose(z=NODE_PARAMS["camera.z"], pitch=NODE_PARAMS["camera.pitch"])
    lens = CameraModel.from_camera_info(info.k, info.p, info.d, "plumb_bob", 640, 480, False)
    expected = GroundProjector(lens, pose, spec).occupancy(np.ones((480, 640), bool))
    np.testing.assert_array_equal(cells, expected)
    pinhole = CameraModel.from_camera_info(info.k, info.p, [0.0] * 5, "plumb_bob", 640, 480, False)
    undistorted = GroundProjector(pinhole, pose, spec).occupancy(np.ones((480, 640), bool))
    assert (undistorted != expected).sum() > 100


def test_tf_transforms_give_the_pose_and_the_parameters_are_the_fallback(ros: Ros) -> None:
    pose = CameraPose(x=1.2, y=-0.3, z=1.6, roll=0.01, pitch=0.15, yaw=-0.4)
    translation, rotation = pose.optical_pose().to_transform()
    transform = Transform()
    transform.translation.x, transform.translation.y, transform.translation.z = translation
    q = transform.rotation
    q.x, q.y, q.z, q.w = rotation
    found = pose_of_transform(transform).to_camera_pose()
    for name in ("x", "y", "z", "roll", "pitch", "yaw"):
        assert getattr(found, name) == pytest.approx(getattr(pose, name), abs=1e-9), name
    listener = ros.listener("/tf_fallback")
    source = CameraPoseSource(listener.node)
    header = raw_frame(2, 2, "bgr8", next_stamp()).header
    try:
        import tf2_ros  # noqa: F401
    except ImportError:  # not on the package index: the node uses the camera.* parameters
        assert source.buffer is None and source.lookup("", "base_link", header) is None
    else:  # installed, but nothing publishes this transform yet
        assert source.lookup("", "base_link", header) is None
    assert not math.isnan(found.z)
