"""`hybridnets bag-eval --live`: play a bag into the running node over real ROS topics at the
recorded rate (or k times it) and record what the node publishes.

Camera and camera_info messages go out as the bag's own CDR bytes; the node's outputs are
stored as received, each logged at its input frame's original log time, so the recording lines
up with the input bag and with an offline `bag-eval` run. A frame whose detections never
arrive was dropped by the node (it keeps only the newest frame).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rclpy
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.srv import GetParameters
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from hybridnets_core.bag.reader import BagReader, deserialize
from hybridnets_core.bag.replay import IMAGE_TYPES, FrameRecord, ReplayResult, follow_camera_info
from hybridnets_core.bag.writer import BagWriter
from hybridnets_core.errors import ConfigError
from hybridnets_core.outputs import messages
from hybridnets_core.outputs.frame import OUTPUT_TYPES, RECORDED_OUTPUTS
from hybridnets_core.settings import DetectionSettings, setting_fields

from .messages import message_class
from .stop_signals import ROS_SIGNALS_OFF

NODE_NAME = "hybridnets_bag_player"
TAIL_QUIET_S = 0.5  # the node publishes one frame's outputs within milliseconds of each other


@dataclass(frozen=True)
class LiveOptions:
    """What to play, where to, how fast, and how long to wait for the node."""

    image_topic: str  # in the bag; also the topic played to unless publish_as is set
    node: str = "/hybridnets_node"
    camera_info: str | None = None  # None: the camera_info beside the images, if present
    publish_as: dict[str, str] | None = None  # bag topic -> ROS topic
    rate: float = 1.0
    discovery_s: float = 15.0
    settle_s: float = 5.0  # after the last frame, wait this long for outputs to stop coming
    fmt: str = "mcap"


class _Player(Node):
    """Publishes the bag's camera topics and keeps every output message with its arrival time."""

    def __init__(self, context: Context, options: LiveOptions, inputs: dict[str, str]) -> None:
        super().__init__(NODE_NAME, context=context)
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        rename = options.publish_as or {}
        self.publishers_by_topic = {
            topic: self.create_publisher(message_class(msgtype), rename.get(topic, topic), reliable)
            for topic, msgtype in inputs.items()
        }
        self.received: list[tuple[str, float, bytes]] = []
        self.answered: set[int] = set()  # stamps with detections
        self.lock = threading.Lock()
        keep = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        node = options.node.rstrip("/")
        self.outputs = {f"{node}/{name}": OUTPUT_TYPES[name] for name in RECORDED_OUTPUTS}
        self.detections = f"{options.node.rstrip('/')}/detections"
        for topic, msgtype in self.outputs.items():
            self.create_subscription(
                message_class(msgtype), topic, self._keeper(topic), keep, raw=True
            )
        self.label_info_topic = f"{node}/label_info"
        self.label_info: bytes | None = None  # latched by the node; the newest is kept
        latched = QoSProfile(
            depth=1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )
        self.create_subscription(
            message_class(messages.LABEL_INFO),
            self.label_info_topic,
            self._keep_label_info,
            latched,
            raw=True,
        )

    def _keep_label_info(self, raw: bytes) -> None:
        with self.lock:
            self.label_info = raw

    def _keeper(self, topic: str) -> Any:
        def keep(raw: bytes) -> None:
            arrived = time.monotonic()
            stamp = _stamp(raw, messages.DETECTIONS) if topic == self.detections else None
            with self.lock:
                self.received.append((topic, arrived, raw))
                if stamp is not None:
                    self.answered.add(stamp)

        return keep

    def all_answered(self, stamps: set[int]) -> bool:
        with self.lock:
            return stamps <= self.answered

    def outputs_so_far(self) -> int:
        with self.lock:
            return len(self.received)


def _wait(condition: Any, seconds: float) -> bool:
    """Poll until `condition()` holds or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def _discover(player: _Player, image_topic: str, detections: str, seconds: float) -> None:
    """Wait until the node subscribes to our images and publishes detections to us."""
    images = player.publishers_by_topic[image_topic]
    if not _wait(
        lambda: images.get_subscription_count() > 0 and player.count_publishers(detections) > 0,
        seconds,
    ):
        raise ConfigError(
            f"no node subscribed to {images.topic_name} and published {detections} within "
            f"{seconds:g} s; start hybridnets_node with its image topic remapped to "
            f"{images.topic_name} (and, for raw images, config/fastdds_large_images.xml as "
            "FASTDDS_DEFAULT_PROFILES_FILE in both processes)"
        )


def _node_detection(player: _Player, node: str, seconds: float) -> DetectionSettings:
    """The running node's detection thresholds, read from its parameters (what it published
    with, whatever bag-eval's own flags say)."""
    names = [name for name, _, _ in setting_fields(DetectionSettings)]
    client = player.create_client(GetParameters, f"{node}/get_parameters")
    try:
        if not client.wait_for_service(timeout_sec=seconds):
            raise ConfigError(f"{node}/get_parameters did not answer in {seconds:g} s")
        future = client.call_async(GetParameters.Request(names=names))
        if not _wait(future.done, seconds) or len(future.result().values) != len(names):
            raise ConfigError(f"{node} did not report its parameters {', '.join(names)}")
        values = [Parameter.from_parameter_msg(ParameterMsg(name=name, value=value)).value
                  for name, value in zip(names, future.result().values)]  # fmt: skip
    finally:
        player.destroy_client(client)
    return DetectionSettings(**dict(zip(names, values)))


def _play(
    bag: BagReader, player: _Player, topics: list[str], rate: float
) -> dict[int, tuple[int, int, float]]:
    """Publish in log-time order at `rate` x real time; image stamp -> (index, log ns, sent)."""
    sent: dict[int, tuple[int, int, float]] = {}
    image_topic = topics[0]
    start_wall = first_log = None
    for topic, msgtype, log_ns, raw in bag.raw_messages(topics):
        if start_wall is None:
            start_wall, first_log = time.monotonic(), log_ns
        delay = start_wall + (log_ns - first_log) / 1e9 / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if topic == image_topic:
            header = deserialize(raw, msgtype, f"{topic} in {bag.path}").header
            sent[messages.stamp_ns(header)] = (len(sent), log_ns, time.monotonic())
        player.publishers_by_topic[topic].publish(bytes(raw))
    return sent


def _settle(player: _Player, done: Any, seconds: float) -> None:
    """Wait until `done()` and the outputs have paused for TAIL_QUIET_S (the last frame's
    masks follow its detections), or until no output has arrived for `seconds`."""
    count, quiet_since = player.outputs_so_far(), time.monotonic()
    while True:
        quiet = time.monotonic() - quiet_since
        if quiet >= seconds or (quiet >= TAIL_QUIET_S and done()):
            return
        time.sleep(0.05)
        if player.outputs_so_far() != count:
            count, quiet_since = player.outputs_so_far(), time.monotonic()


def play_and_record(
    bag: BagReader, out: Path, options: LiveOptions, context: Context | None = None
) -> ReplayResult:
    """Play the bag into the node, write its outputs to a new bag at `out`, return the run.

    `context`: an initialised rclpy context to use (tests); by default one is created.
    """
    if not options.rate > 0:
        raise ConfigError(f"--rate must be > 0, got {options.rate}")
    image_type = bag.require(options.image_topic, IMAGE_TYPES)
    info_topic = follow_camera_info(bag, options.image_topic, options.camera_info)
    inputs = {options.image_topic: image_type}
    if info_topic is not None:
        inputs[info_topic] = messages.CAMERA_INFO
    own = context is None
    if own:
        context = Context()
        # Ctrl-C as KeyboardInterrupt, without rclpy's signal thread (why: stop_signals.py)
        rclpy.init(context=context, signal_handler_options=ROS_SIGNALS_OFF)
    executor = SingleThreadedExecutor(context=context)
    player = _Player(context, options, inputs)
    executor.add_node(player)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        _discover(player, options.image_topic, player.detections, options.discovery_s)
        node_detection = _node_detection(player, options.node, options.discovery_s)
        start = time.perf_counter()
        sent = _play(bag, player, list(inputs), options.rate)
        _settle(player, lambda: player.all_answered(set(sent)), options.settle_s)
        wall = time.perf_counter() - start
    finally:
        executor.shutdown()
        player.destroy_node()
        if own:
            rclpy.shutdown(context=context)
        spinner.join(timeout=5.0)
    records, counts = _record(out, options.fmt, player, sent)
    done = {record.stamp_ns for record in records}
    return ReplayResult(
        bag=bag.path,
        output=out,
        image_topic=options.image_topic,
        image_type=image_type,
        frames=records,
        skipped=[
            (index, "dropped: the node published no detections for this frame")
            for stamp, (index, _, _) in sorted(sent.items(), key=lambda item: item[1][0])
            if stamp not in done
        ],
        output_counts=counts,
        label_source=None,
        evaluation=None,
        wall_s=wall,
        camera_info=info_topic,
        invalid_camera_info=0,
        node_detection=node_detection,
    )


def _stamp(raw: bytes, msgtype: str) -> int:
    """Header stamp (ns) of a received message."""
    return messages.stamp_ns(deserialize(raw, msgtype, "a node output").header)


def _record(
    out: Path, fmt: str, player: _Player, sent: dict[int, tuple[int, int, float]]
) -> tuple[list[FrameRecord], dict[str, int]]:
    """Write the received outputs (first message per topic and stamp) and time each frame."""
    records: dict[int, FrameRecord] = {}
    counts: dict[str, int] = {}
    kept: dict[tuple[str, int], tuple[int, str, float, bytes, int]] = {}
    for topic, arrived, raw in player.received:
        msgtype = player.outputs[topic]
        message = deserialize(raw, msgtype, topic)
        stamp = messages.stamp_ns(messages.header_of(message))
        if stamp in sent and (topic, stamp) not in kept:
            boxes = len(message.detections) if msgtype == messages.DETECTIONS else 0
            kept[topic, stamp] = (sent[stamp][1], msgtype, arrived, raw, boxes)
    with BagWriter(out, fmt) as writer:
        if player.label_info is not None and sent:  # the class map, at the first frame
            first_log = min(log_ns for _, log_ns, _ in sent.values())
            writer.write_raw(
                player.label_info_topic, messages.LABEL_INFO, first_log, player.label_info
            )
            counts[player.label_info_topic] = 1
        for (topic, stamp), (log_ns, msgtype, arrived, raw, boxes) in sorted(
            kept.items(), key=lambda item: item[1][0]
        ):
            writer.write_raw(topic, msgtype, log_ns, raw)
            counts[topic] = counts.get(topic, 0) + 1
            if msgtype == messages.DETECTIONS:
                index, _, published = sent[stamp]
                latency = {"end_to_end": (arrived - published) * 1000}
                records[stamp] = FrameRecord(index, stamp, log_ns, boxes, False, latency)
    return sorted(records.values(), key=lambda record: record.index), counts
