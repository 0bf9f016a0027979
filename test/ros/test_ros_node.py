"""The ROS 2 node with real rclpy, in-process: a test camera, the node and its outputs, parameters
and diagnostics (the node as its own process: test/process/test_node_process.py)."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

import math
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ros_fixtures import (
    Listener,
    check_detections,
    compressed_frame,
    diagnostic_values,
    raw_frame,
    require_ros,
    stamp,
    stamp_ns_of,
    wait_until,
)
from testdata import config_parameters

require_ros()

from ros_session import (
    FOCAL,
    GRID,
    HEIGHT,
    PITCH,
    Ros,
    camera_model_for,
    next_stamp,
    set_parameters,
)
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from hybridnets_core.cli.main import main
from hybridnets_core.errors import ConfigError
from hybridnets_core.inference.letterbox import Letterbox
from hybridnets_ros import params
from hybridnets_ros.node import HybridNetsNode

REPO = Path(__file__).resolve().parents[2]
ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8")


@pytest.fixture(scope="module")
def node(ros: Ros, weights: Path) -> HybridNetsNode:
    return ros.start_node(weights)


@pytest.fixture(scope="module")
def listener(ros: Ros, node: HybridNetsNode) -> Listener:
    return ros.listener()


def idle(node: HybridNetsNode) -> bool:
    """Whether every frame received so far has been fully handled (all outputs published)."""
    counts = node.stats.counts
    done = counts["processed"] + counts["dropped"] + counts["rejected"] + counts["failed"]
    return done == counts["received"]


def check_mask(msg: Any, frame: Any, width: int, height: int) -> None:
    """mono8 of this size with the frame's header; the test weights mark every pixel 255."""
    assert msg.header == frame.header
    assert (msg.encoding, msg.width, msg.height, msg.step) == ("mono8", width, height, width)
    assert set(np.unique(np.frombuffer(msg.data, np.uint8))) == {255}


@pytest.mark.parametrize("width,height,pad", [(640, 480, 0), (333, 197, 3)])
def test_raw_frames_of_every_encoding(
    listener: Listener, node: HybridNetsNode, width: int, height: int, pad: int
) -> None:
    for encoding in ENCODINGS:
        frame = raw_frame(width, height, encoding, next_stamp(), pad=pad)
        check_detections(listener.send(frame), frame, width, height, count=20)
        for name in ("drivable_mask", "lane_mask"):
            check_mask(listener.wait_for(name, stamp_ns_of(frame)), frame, width, height)


NEAREST = HEIGHT / math.tan(PITCH + math.atan(240.5 / FOCAL))  # ground seen by row 479 of 480


def check_grid(grid: Any, frame: Any, tolerance_cells: int = 1) -> None:
    """Grid metadata as configured; with full drivable masks every visible cell is 0 and the
    visible area starts where the lowest image row meets the ground."""
    assert grid.header.stamp == frame.header.stamp and grid.header.frame_id == "base_link"
    info = grid.info
    assert (info.width, info.height) == (200, 100)
    assert info.resolution == pytest.approx(GRID["resolution"])
    assert (info.origin.position.x, info.origin.position.y) == (GRID["x_min"], GRID["y_min"])
    assert info.origin.orientation.w == 1.0
    cells = np.asarray(grid.data, dtype=np.int8).reshape(info.height, info.width)
    assert set(np.unique(cells)) == {-1, 0}
    xs = GRID["x_min"] + (np.arange(info.width) + 0.5) * info.resolution
    ahead = cells[info.height // 2]  # y = 0
    margin = tolerance_cells * info.resolution
    assert (ahead[xs < NEAREST - margin] == -1).all()
    assert (ahead[xs > NEAREST + margin] == 0).all()
    assert cells[0, 5] == -1 and cells[-1, 5] == -1  # beside the car, out of view


def test_grid_and_lane_points_follow_the_camera_geometry(
    listener: Listener, node: HybridNetsNode
) -> None:
    frame = raw_frame(640, 480, "bgr8", next_stamp())
    listener.send(frame)
    check_grid(listener.wait_for("grid", stamp_ns_of(frame)), frame)

    cloud = listener.wait_for("lane_points", stamp_ns_of(frame))
    assert cloud.header.frame_id == "base_link" and [f.name for f in cloud.fields] == list("xyz")
    points = np.frombuffer(cloud.data, np.float32).reshape(-1, 3)
    assert points.shape[0] == cloud.width > 1000
    assert (points[:, 2] == 0).all()
    assert points[:, 0].min() == pytest.approx(NEAREST, abs=0.05)
    assert points[:, 0].max() < GRID["x_max"] and points[:, 1].min() >= GRID["y_min"]


def test_ground_mapping_is_rebuilt_only_when_calibration_changes(
    listener: Listener, node: HybridNetsNode
) -> None:
    listener.send(raw_frame(640, 480, "rgb8", next_stamp()))
    assert wait_until(lambda: idle(node), 10.0)
    builds = node.ground_builds
    frame = raw_frame(640, 480, "rgb8", next_stamp())
    listener.send(frame)
    before = np.asarray(listener.wait_for("grid", stamp_ns_of(frame)).data, np.int8)
    assert node.ground_builds == builds

    info_pub = listener.node.create_publisher(CameraInfo, "camera_info", 10)
    wide = CameraInfo(width=640, height=480)
    wide.k = [FOCAL / 2, 0.0, 319.5, 0.0, FOCAL / 2, 239.5, 0.0, 0.0, 1.0]
    wide.p = [FOCAL / 2, 0.0, 319.5, 0.0, 0.0, FOCAL / 2, 239.5, 0.0, 0.0, 0.0, 1.0, 0.0]
    try:
        assert wait_until(lambda: info_pub.get_subscription_count() > 0, 10.0)
        info_pub.publish(wide)

        def wide_held() -> bool:
            model = camera_model_for(node, 0)  # info_tolerance 0: the latest camera_info
            return model is not None and model.intrinsics.fx == FOCAL / 2

        assert wait_until(wide_held, 10.0)
        frame = raw_frame(640, 480, "rgb8", next_stamp())
        listener.send(frame)
        after = np.asarray(listener.wait_for("grid", stamp_ns_of(frame)).data, np.int8)
    finally:
        listener.node.destroy_publisher(info_pub)
    assert node.ground_builds == builds + 1
    assert np.count_nonzero(after == 0) > np.count_nonzero(before == 0)  # wider view


def test_malformed_frames_are_counted_and_skipped(listener: Listener, node: HybridNetsNode) -> None:
    good = raw_frame(64, 48, "bgr8", next_stamp())
    wrong_encoding = raw_frame(64, 48, "bgr8", next_stamp())
    wrong_encoding.encoding = "32FC1"
    empty = Image(encoding="rgb8")
    short = raw_frame(64, 48, "rgb8", next_stamp())
    short.data = bytes(short.data[:-10])
    narrow_step = raw_frame(64, 48, "rgb8", next_stamp())
    narrow_step.step = 10
    bad = [wrong_encoding, empty, short, narrow_step]
    rejected = node.stats.counts["rejected"]
    assert wait_until(lambda: listener.raw.get_subscription_count() > 0, 10.0)
    for count, msg in enumerate(bad, start=1):
        stamp(msg, next_stamp())
        listener.raw.publish(msg)
        # one at a time, so none is dropped in favour of the next
        assert wait_until(lambda n=count: node.stats.counts["rejected"] == rejected + n, 10.0)
    check_detections(listener.send(good), good, 64, 48, count=20)
    assert "step" in node.stats.last_error or "bytes" in node.stats.last_error


def test_debug_image_is_rendered_only_while_subscribed(
    listener: Listener, node: HybridNetsNode
) -> None:
    rendered = node.debug_images
    listener.send(raw_frame(320, 240, "rgb8", next_stamp()))
    assert wait_until(lambda: idle(node), 10.0)
    assert node.debug_images == rendered

    overlays: list[Image] = []
    subscription = listener.node.create_subscription(
        Image, listener.debug_topic, overlays.append, 10
    )
    topic = node.resolve_topic_name("~/debug_image")
    (publisher,) = (p for p in node.publishers if p.topic_name == topic)
    assert wait_until(lambda: publisher.get_subscription_count() > 0, 10.0)
    frame = raw_frame(320, 240, "rgb8", next_stamp())
    listener.send(frame)
    assert wait_until(lambda: overlays, 10.0)
    overlay = overlays[-1]
    assert overlay.header == frame.header
    assert (overlay.encoding, overlay.width, overlay.height) == ("bgr8", 320, 240)
    assert node.debug_images == rendered + 1

    listener.node.destroy_subscription(subscription)
    assert wait_until(lambda: publisher.get_subscription_count() == 0, 10.0)
    listener.send(raw_frame(320, 240, "rgb8", next_stamp()))
    assert wait_until(lambda: idle(node), 10.0)
    assert node.debug_images == rendered + 1


def test_frames_arriving_faster_than_processing_are_dropped(
    listener: Listener, node: HybridNetsNode
) -> None:
    (result,) = set_parameters(listener, node.get_fully_qualified_name(), max_rate=2.0)
    assert result.successful
    before = dict(node.stats.counts)
    frames = [raw_frame(160, 120, "bgr8", next_stamp()) for _ in range(20)]
    try:
        for frame in frames:  # 20 frames in ~0.2 s; at 2 Hz the model may take 2 of them
            listener.raw.publish(frame)
            time.sleep(0.01)  # the stimulus, not synchronisation: a camera at about 100 Hz
        listener.wait_for("detections", stamp_ns_of(frames[-1]))  # the newest always survives
        assert wait_until(lambda: idle(node), 10.0)
    finally:
        set_parameters(listener, node.get_fully_qualified_name(), max_rate=0.0)
    delta = {key: node.stats.counts[key] - before[key] for key in before}
    assert delta["received"] >= 10  # best effort: DDS itself may drop a few in-process
    assert delta["processed"] + delta["dropped"] == delta["received"]
    assert delta["processed"] <= 4 and delta["dropped"] >= delta["received"] - 4
    total_dropped = node.stats.counts["dropped"]

    def reported() -> bool:
        for msg in reversed(listener.received("diagnostics")):
            if msg.status[0].name == "/hybridnets_node: perception":
                return int(diagnostic_values(msg)["frames_dropped"]) == total_dropped
        return False

    assert wait_until(reported, 5.0), "drops not reported in /diagnostics"


def test_thresholds_change_at_run_time_and_invalid_values_are_refused(
    listener: Listener, node: HybridNetsNode
) -> None:
    name = node.get_fully_qualified_name()
    try:
        assert set_parameters(listener, name, conf_threshold=1.0)[0].successful
        frame = raw_frame(320, 240, "bgr8", next_stamp())
        check_detections(listener.send(frame), frame, 320, 240, count=0)

        results = set_parameters(listener, name, conf_threshold=0.0, max_detections=3)
        assert all(r.successful for r in results)
        frame = raw_frame(320, 240, "bgr8", next_stamp())
        check_detections(listener.send(frame), frame, 320, 240, count=3)

        refused = {
            "conf_threshold": 1.5,  # outside the declared range
            "grid.x_max": -1.0,  # behind grid.x_min: refused by the node's validation
            "weights": "/elsewhere.pth",  # read-only
            "qos.depth": 0,
        }
        for key, value in refused.items():
            (result,) = set_parameters(listener, name, **{key: value})
            assert not result.successful and result.reason, key
        assert "grid" in set_parameters(listener, name, **{"grid.x_max": -1.0})[0].reason
        assert node.get_parameter("grid.x_max").value == GRID["x_max"]
    finally:
        set_parameters(listener, name, conf_threshold=0.0, max_detections=20)


def test_diagnostics_report_rates_latencies_and_backend(
    listener: Listener, node: HybridNetsNode
) -> None:
    earlier = len(listener.received("diagnostics"))
    for _ in range(3):
        listener.send(raw_frame(320, 240, "bgr8", next_stamp()))

    def busy_period() -> Any:
        """The newest status since these frames of a period in which frames came and went
        (answered one at a time, every frame arrives after the previous one is processed)."""
        for msg in reversed(listener.received("diagnostics")[earlier:]):
            if msg.status[0].name == "/hybridnets_node: perception":
                values = diagnostic_values(msg)
                if float(values["input_rate_hz"]) > 0 and float(values["processed_rate_hz"]) > 0:
                    return msg
        return None

    msg = wait_until(busy_period, 5.0)
    assert msg is not None, "no diagnostics period with frames received and processed"
    status = msg.status[0]
    values = diagnostic_values(msg)
    assert status.hardware_id == "torch:cpu"
    assert (values["backend"], values["device"]) == ("torch", "cpu")
    counts = node.stats.counts  # none of these frames was dropped or rejected: totals as before
    assert int(values["frames_dropped"]) == counts["dropped"]
    assert int(values["frames_rejected"]) == counts["rejected"]
    stages = ("wait", "decode", "preprocess", "forward", "postprocess", "output", "publish")
    for stage in (*stages, "total"):
        median = float(values[f"latency_{stage}_median_ms"])
        assert 0 <= median <= float(values[f"latency_{stage}_p95_ms"])
    # the stages do not overlap: their medians add up to no more than the total's worst case
    parts = sum(float(values[f"latency_{stage}_median_ms"]) for stage in stages)
    assert parts <= float(values["latency_total_p95_ms"]) * 1.05
    assert float(values["latency_forward_median_ms"]) < float(values["latency_total_p95_ms"])
    assert "last_error" in values


def test_compressed_frames_and_corrupt_bytes(ros: Ros, weights: Path) -> None:
    options = {"input_mode": "compressed", "class_names": "auto, coach"}
    node = ros.start_node(weights, "/compressed", mask_resolution="network", **options)
    listener = ros.listener("/compressed")
    for fmt in ("jpeg", "png"):
        for width, height in ((640, 480), (250, 130)):
            frame = compressed_frame(width, height, fmt, next_stamp())
            detections = listener.send(frame)
            check_detections(detections, frame, width, height, 20, classes={"auto", "coach"})
            fit = Letterbox.fit((height, width), node.pipeline.input_size)
            mask = listener.wait_for("lane_mask", stamp_ns_of(frame))
            check_mask(mask, frame, fit.resized_size[1], fit.resized_size[0])
            if width == 640:  # intrinsics are for 640x480, scaled to the network-size mask
                check_grid(listener.wait_for("grid", stamp_ns_of(frame)), frame, 2)
    corrupt = CompressedImage(format="jpeg", data=b"\xff\xd8\xff\xe0 not a jpeg")
    stamp(corrupt, next_stamp())
    listener.compressed.publish(corrupt)
    assert wait_until(lambda: node.stats.counts["rejected"] == 1, 10.0)
    assert "decode" in node.stats.last_error
    frame = compressed_frame(64, 64, "png", next_stamp())
    check_detections(listener.send(frame), frame, 64, 64, 20, classes={"auto", "coach"})


def ros_kind(value: Any) -> Any:
    """What ROS types a parameter value by: its type, or a list's item types."""
    return tuple(map(type, value)) if isinstance(value, tuple) else type(value)


def test_config_file_lists_every_parameter_and_loads(ros: Ros, weights: Path) -> None:
    config = REPO / "config" / "hybridnets.yaml"
    values = config_parameters()
    defaults = {name: default for name, (default, _) in params.PARAMETERS.items()}
    # the parameters that follow the device stay unset in the file, so `device` decides them
    assert values == {n: v for n, v in defaults.items() if n not in params.device_defaults("cpu")}
    assert params.device_defaults("cpu") == {n: defaults[n] for n in params.device_defaults("cpu")}
    assert all(ros_kind(default) == ros_kind(defaults[name]) for name, default in values.items())
    args = ["--ros-args", "--params-file", str(config), "-p", f"weights:={weights}"]
    node = ros.add(HybridNetsNode(context=ros.context, namespace="/configured", cli_args=args))
    assert params.parameter_values(node.settings) == {**defaults, "weights": str(weights)}
    conf = node.describe_parameter("conf_threshold")
    assert conf.description and (conf.floating_point_range[0].to_value, conf.read_only) == (
        1,
        False,
    )
    assert node.describe_parameter("weights").read_only
    assert "compressed" in node.describe_parameter("input_mode").additional_constraints


def test_class_names_come_from_parameter_project_or_weights(tmp_path: Path) -> None:
    source = params.ModelSource
    assert params.class_names(source(), ["car", "bus"]) == ["car", "bus"]
    project = tmp_path / "project.yml"
    project.write_text("obj_list: ['vehicle', 'person']\nseg_list: ['road']\n")
    assert params.class_names(source(project=str(project)), ["a", "b"]) == [
        "vehicle",
        "person",
    ]
    assert params.class_names(source(class_names=" x ,y"), ["a", "b"]) == ["x", "y"]
    with pytest.raises(ConfigError, match="2 classes"):
        params.class_names(source(class_names="only_one"), ["a", "b"])
    with pytest.raises(ConfigError, match="obj_list"):
        project.write_text("seg_list: ['road']\n")
        params.class_names(source(project=str(project)), ["a", "b"])


def test_node_runs_an_int8_export_with_native_ops(
    ros: Ros, weights: Path, dashcam_paths: list[Path], tmp_path: Path
) -> None:
    """The vehicle's CPU path: an INT8 export, our native ops inside, behind the same topics."""
    calib = tmp_path / "calib"
    calib.mkdir()
    for path in dashcam_paths[:2]:
        (calib / path.name).write_bytes(path.read_bytes())
    export = tmp_path / "int8.onnx"
    argv = ["export", "-w", str(weights), "--height", "256", "--width", "384", "--int8"]
    assert main([*argv, "--calib", str(calib), "--calib-images", "2", "-o", str(export)]) == 0
    node = ros.start_node(export, "/int8", backend="onnxruntime")
    assert node.pipeline.backend_name == "onnxruntime"
    listener = ros.listener("/int8")
    for width, height in ((640, 480), (333, 197)):
        frame = raw_frame(width, height, "bgr8", next_stamp())
        check_detections(listener.send(frame), frame, width, height, count=20)
        for name in ("drivable_mask", "lane_mask"):
            check_mask(listener.wait_for(name, stamp_ns_of(frame)), frame, width, height)


def marker_stamp(markers: Any) -> int:
    """The stamp of a MarkerArray (of its first marker: the array has no header)."""
    return stamp_ns_of(markers.markers[0])


def test_planner_outputs_follow_objects_and_lanes_of_a_drive(ros: Ros) -> None:
    """Built-in model on a synthetic drive: objects on the ground with persistent track ids,
    ego lane paths and markers, all stamped like the image, in grid_frame; latched labels."""
    from diagnostic_msgs.msg import DiagnosticArray  # noqa: F401  (the listener imports it)
    from nav_msgs.msg import Path as PathMsg
    from vision_msgs.msg import Detection3DArray, LabelInfo
    from visualization_msgs.msg import MarkerArray

    from hybridnets_core.bag.drive import SyntheticDrive

    drive = SyntheticDrive(seed=3, size=(640, 360), fps=10.0)
    camera = drive.intrinsics
    node = ros.start_node(
        "",
        "/planner",
        conf_threshold=0.25,
        max_detections=100,
        **{"camera.fx": camera.fx, "camera.fy": camera.fy, "camera.cx": camera.cx},
        **{"camera.cy": camera.cy, "camera.pitch": 0.0, "camera.z": 1.5},
        **{"grid.x_max": 40.0, "grid.y_min": -10.0, "grid.y_max": 10.0, "grid.resolution": 0.2},
    )
    listener = ros.listener("/planner")
    extra = {"objects": Detection3DArray, "ego_lane/center": PathMsg, "markers": MarkerArray}
    received: dict[str, list[Any]] = {name: [] for name in extra}
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    subscriptions = [
        listener.node.create_subscription(
            kind, f"hybridnets_node/{name}", received[name].append, reliable
        )
        for name, kind in extra.items()
    ]
    latched = QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
    )
    labels: list[Any] = []
    subscriptions.append(
        listener.node.create_subscription(
            LabelInfo, "hybridnets_node/label_info", labels.append, latched
        )
    )
    assert wait_until(lambda: labels, 10.0), "no latched label_info"
    assert [c.class_name for c in labels[0].class_map] == node.pipeline.class_names
    frames = []
    for index in range(8):
        image = np.ascontiguousarray(drive.render(index).image)
        frame = Image(height=360, width=640, encoding="bgr8", step=640 * 3)
        frame.data = image.tobytes()
        stamp(frame, 1_800_000_000_000_000_000 + index * 100_000_000)
        listener.send(frame, timeout=60.0)
        frames.append(frame)
        answered = partial(
            lambda f: any(marker_stamp(m) == stamp_ns_of(f) for m in received["markers"]), frame
        )
        assert wait_until(answered, 30.0), "no markers for a frame"
    ids_per_frame = []
    for frame in frames:
        detections = listener.wait_for("detections", stamp_ns_of(frame))
        ids_per_frame.append({d.id for d in detections.detections if d.id})
        for name in extra:
            stamp_of = marker_stamp if name == "markers" else stamp_ns_of
            message = next(m for m in received[name] if stamp_of(m) == stamp_ns_of(frame))
            header = message.markers[0].header if name == "markers" else message.header
            assert header.frame_id == "base_link"
        objects = next(m for m in received["objects"] if stamp_ns_of(m) == stamp_ns_of(frame))
        for det in objects.detections:
            assert 0.0 < det.bbox.center.position.x < 40.0 and det.bbox.size.z > 0
            assert det.results[0].pose.covariance[0] > 0
    assert not ids_per_frame[0]  # tracks need a few frames before they are confirmed
    persistent = set.intersection(*ids_per_frame[4:])
    assert persistent, ids_per_frame  # the same objects keep their ids frame after frame
    centre = [m for m in received["ego_lane/center"] if m.poses]
    assert centre and all(p.header.frame_id == "base_link" for p in centre[-1].poses)
    for subscription in subscriptions:
        listener.node.destroy_subscription(subscription)
