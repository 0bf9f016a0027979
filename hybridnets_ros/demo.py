"""`hybridnets_demo`: play images or a video as a camera into the node and save what it sees.

Runs three nodes in one process over real ROS topics: a camera publishing bgr8 frames, the
perception node, and a viewer that writes each `~/debug_image` overlay to disk and prints
the detections. It is the quickest way to see the node work without a camera or launch.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from hybridnets_core.errors import HybridNetsError, InputError
from hybridnets_core.fileio import write_image
from hybridnets_core.media import VideoReader, is_video, read_image, source_images
from hybridnets_core.outputs import messages
from hybridnets_core.outputs.codec import image_to_array

from .messages import RclpyFactory
from .node import NODE_NAME, HybridNetsNode
from .stop_signals import ROS_SIGNALS_OFF, ignore_stop_signals

ANSWER_TIMEOUT_S = 120.0
REPUBLISH_S = 1.0
POLL_S = 0.005


def load_frames(source: Path, limit: int) -> list[np.ndarray]:
    """BGR frames from a folder of images or a video, at most `limit` (0: all)."""
    if is_video(source):
        frames = [frame.image for frame in VideoReader(source)]
    else:
        frames = [read_image(path) for path in source_images(source)]
    if not frames:
        raise InputError(f"{source} has no frames")
    return frames[:limit] if limit else frames


class Viewer(Node):
    """Saves every debug overlay and remembers which frame stamps were answered."""

    def __init__(self, out_dir: Path) -> None:
        super().__init__("hybridnets_demo_viewer")
        self.out_dir = out_dir
        self.answered: dict[int, str] = {}
        self.saved: set[int] = set()
        topic = f"/{NODE_NAME}"
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.create_subscription(Image, f"{topic}/debug_image", self._on_overlay, qos)
        self.create_subscription(Detection2DArray, f"{topic}/detections", self._on_detections, qos)

    def _on_overlay(self, msg: Image) -> None:
        overlay, _ = image_to_array(msg)
        write_image(self.out_dir / f"{msg.header.frame_id}.jpg", np.ascontiguousarray(overlay))
        self.saved.add(_stamp_ns(msg.header.stamp))

    def _on_detections(self, msg: Detection2DArray) -> None:
        names = [
            f"{d.results[0].hypothesis.class_id} {d.results[0].hypothesis.score:.2f}"
            for d in msg.detections
        ]
        summary = f"{len(names)} detections" + (f": {', '.join(names[:5])}" if names else "")
        self.answered[_stamp_ns(msg.header.stamp)] = summary

    def done(self, stamp: int) -> bool:
        """Both the detections and the overlay of this frame have arrived."""
        return stamp in self.answered and stamp in self.saved


def _stamp_ns(stamp: object) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)  # type: ignore[attr-defined]


def play(camera: Node, viewer: Viewer, frames: list[np.ndarray], rate: float) -> int:
    """Publish each frame, wait for the node's answer, print it; returns frames answered."""
    publisher = camera.create_publisher(Image, "/camera/image_raw", 1)
    answered = 0
    for index, frame in enumerate(frames):
        header = Header(stamp=camera.get_clock().now().to_msg(), frame_id=f"frame_{index:04d}")
        msg = messages.image(RclpyFactory(), frame, "bgr8", header)
        stamp = _stamp_ns(msg.header.stamp)
        sent = last_sent = time.perf_counter()
        publisher.publish(msg)
        while not viewer.done(stamp) and time.perf_counter() < sent + ANSWER_TIMEOUT_S:
            time.sleep(POLL_S)
            if time.perf_counter() - last_sent > REPUBLISH_S and stamp not in viewer.answered:
                publisher.publish(msg)  # best-effort delivery may drop a frame: send it again
                last_sent = time.perf_counter()
        if viewer.done(stamp):
            answered += 1
            latency = (time.perf_counter() - sent) * 1000
            print(f"frame {index}: {viewer.answered[stamp]} ({latency:.0f} ms)", flush=True)
        time.sleep(max(0.0, 1.0 / rate - (time.perf_counter() - sent)))
    return answered


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hybridnets_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="folder of images or a video")
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="overlay folder")
    parser.add_argument("-w", "--weights", default="", help="default: the built-in model")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=0, help="frames to play (0: all)")
    parser.add_argument("--rate", type=float, default=2.0, help="camera frames per second")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point; one-line errors for bad sources and weights, exit 1 if frames go missing."""
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # both stop as Ctrl-C does
    rclpy.init(signal_handler_options=ROS_SIGNALS_OFF)  # why: stop_signals.py
    executor = MultiThreadedExecutor()
    nodes: list[Node] = []
    spinner = threading.Thread(target=executor.spin, daemon=True)
    try:
        frames = load_frames(args.source, args.frames)
        overrides = [
            Parameter("weights", value=args.weights),
            Parameter("backend", value=args.backend),
            Parameter("device", value=args.device),
        ]
        perception = HybridNetsNode(
            parameter_overrides=overrides, cli_args=["--ros-args", "-r", "image:=/camera/image_raw"]
        )
        viewer = Viewer(args.out)
        camera = Node("hybridnets_demo_camera")
        nodes = [perception, viewer, camera]
        for node in nodes:
            executor.add_node(node)
        spinner.start()
        answered = play(camera, viewer, frames, args.rate)
    except HybridNetsError as exc:
        print(f"hybridnets_demo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:  # the executor stops before any node goes away (each stops its own workers)
        ignore_stop_signals()  # a second Ctrl-C must not interrupt the teardown
        executor.shutdown()
        if spinner.is_alive():
            spinner.join(timeout=10.0)
        for node in nodes:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    print(f"{answered} of {len(frames)} frames answered; overlays in {args.out}")
    return 0 if answered == len(frames) else 1


if __name__ == "__main__":
    sys.exit(main())
