"""Several cameras: one hybridnets_node batching them through one network, against as many
separate single-camera nodes; and the node with and without overlapped stages.

Every node runs in its own process (the installed entry point). This process publishes the
same synthetic-drive frame to every camera at a fixed rate, stamped with the wall clock, and
records when each camera's detections come back. Reported per run: frames per second answered
per camera, latency (publish -> detections) median and p95, and the machine's load. JSON out.

  python benchmarks/multi_camera.py --cameras 1 2 4 --rate 30 --duration 20 \\
      --out benchmarks/results/multi_camera_cpu.json          # built-in model
  python benchmarks/multi_camera.py --random-coef 3 ...       # the paper's architecture
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from machine import machine_info

FRAME_SIZE = (640, 360)
LARGE_IMAGE_PROFILE = Path(__file__).resolve().parent.parent / "config" / "fastdds_large_images.xml"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random-coef", type=int, default=None, help="random model (timing)")
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rate", type=float, default=30.0, help="frames per second per camera")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--batch-timeout", type=float, default=0.05)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-separate", action="store_true", help="only the one-node runs")
    parser.add_argument("--out", type=Path, default=Path("multi_camera.json"))
    return parser.parse_args()


def node_executable() -> str:
    found = shutil.which("hybridnets_node") or str(Path(sys.executable).parent / "hybridnets_node")
    if not Path(found).is_file():
        sys.exit("hybridnets_node is not installed (pip install -e . or colcon build)")
    return found


def frame_bytes() -> bytes:
    """One synthetic drive frame (bgr8), what every camera publishes."""
    from hybridnets_core.bag.drive import SyntheticDrive

    image = SyntheticDrive(seed=3, size=FRAME_SIZE, fps=10.0).render(0).image
    return np.ascontiguousarray(image).tobytes()


class NodeProcess(NamedTuple):
    """A node process and the file its output goes to (read back if it dies)."""

    process: subprocess.Popen
    log: Path


def start_node(
    namespace: str, cameras: list[str], weights: str, args: Any, overlap: bool
) -> NodeProcess:
    command = [node_executable(), "--ros-args", "-r", f"__ns:={namespace}"]
    values = {"device": args.device, "batch_timeout": args.batch_timeout}
    if weights:  # else the built-in model (rcl refuses an empty `-p weights:=`)
        values["weights"] = weights
    values["overlap"] = str(overlap).lower()
    if cameras != [""]:
        values["cameras"] = "[" + ",".join(cameras) + "]"
    for key, value in values.items():
        command += ["-p", f"{key}:={value}"]
    log_path = Path(tempfile.mkstemp(prefix="hybridnets_node_", suffix=".log")[1])
    with log_path.open("w") as log:  # the node keeps its own copy of the descriptor
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    return NodeProcess(process, log_path)


class Rig:
    """Publishers per camera topic, and arrival times of each camera's detections."""

    def __init__(self, context: Any, topics: dict[str, tuple[str, str]]) -> None:
        from rclpy.node import Node
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from vision_msgs.msg import Detection2DArray

        self.node = Node("multi_camera_bench", context=context)
        self.lock = threading.Lock()
        self.sent: dict[str, dict[int, float]] = {c: {} for c in topics}
        self.latency: dict[str, list[float]] = {c: [] for c in topics}
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.publishers = {}
        for camera, (image, detections) in topics.items():
            self.publishers[camera] = self.node.create_publisher(Image, image, 1)
            self.node.create_subscription(
                Detection2DArray, detections, self._keeper(camera), reliable
            )

    def _keeper(self, camera: str) -> Any:
        def keep(msg: Any) -> None:
            arrived = time.monotonic()
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            with self.lock:
                sent = self.sent[camera].pop(stamp, None)
                if sent is not None:
                    self.latency[camera].append((arrived - sent) * 1000)

        return keep

    def publish(self, camera: str, data: bytes) -> None:
        from sensor_msgs.msg import Image

        msg = Image(height=FRAME_SIZE[1], width=FRAME_SIZE[0], encoding="bgr8")
        msg.step = FRAME_SIZE[0] * 3
        msg.data = data
        now = time.time_ns()
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(now, 1_000_000_000)
        with self.lock:
            self.sent[camera][now] = time.monotonic()
        self.publishers[camera].publish(msg)

    def reset(self) -> None:
        with self.lock:
            for camera in self.sent:
                self.sent[camera].clear()
                self.latency[camera].clear()


def measure(rig: Rig, data: bytes, rate: float, duration: float, warmup_s: float) -> dict:
    """Publish to every camera at `rate` for warmup + duration; per-camera numbers."""
    period = 1.0 / rate
    deadline = time.monotonic() + warmup_s + duration
    measuring_from = time.monotonic() + warmup_s
    reset = False
    next_tick = time.monotonic()
    while time.monotonic() < deadline:
        if not reset and time.monotonic() >= measuring_from:
            rig.reset()
            reset = True
        for camera in rig.publishers:
            rig.publish(camera, data)
        next_tick += period
        time.sleep(max(0.0, next_tick - time.monotonic()))
    time.sleep(2.0)
    result = {}
    with rig.lock:
        for camera, values in rig.latency.items():
            result[camera] = {
                "fps": round(len(values) / duration, 3),
                "latency_median_ms": round(statistics.median(values), 1) if values else None,
                "latency_p95_ms": round(float(np.percentile(values, 95)), 1) if values else None,
            }
    return result


def run_case(context: Any, args: Any, weights: str, mode: str, count: int, overlap: bool) -> dict:
    names = [f"cam{i}" for i in range(count)]
    namespace = f"/bench_{mode}_{count}_{int(overlap)}"
    if mode == "one_node":
        processes = [start_node(namespace, names if count > 1 else [""], weights, args, overlap)]
        if count > 1:
            topics = {c: (f"{namespace}/{c}/image", f"{namespace}/hybridnets_node/{c}/detections")
                      for c in names}  # fmt: skip
        else:
            topics = {"cam0": (f"{namespace}/image", f"{namespace}/hybridnets_node/detections")}
    else:
        processes = [start_node(f"{namespace}/{c}", [""], weights, args, overlap) for c in names]
        topics = {c: (f"{namespace}/{c}/image", f"{namespace}/{c}/hybridnets_node/detections")
                  for c in names}  # fmt: skip
    rig = Rig(context, topics)
    from rclpy.executors import SingleThreadedExecutor

    executor = SingleThreadedExecutor(context=context)
    executor.add_node(rig.node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        ready = time.monotonic() + 180
        while time.monotonic() < ready and any(
            p.get_subscription_count() == 0 for p in rig.publishers.values()
        ):
            for node in processes:
                if node.process.poll() is not None:
                    log = node.log.read_text()
                    sys.exit(f"a node exited ({node.process.returncode}):\n{log}")
            time.sleep(0.2)
        if any(p.get_subscription_count() == 0 for p in rig.publishers.values()):
            sys.exit(f"{mode}, {count} cameras: the nodes did not subscribe within 180 s")
        per_camera = measure(rig, frame_bytes(), args.rate, args.duration, warmup_s=5.0)
    finally:
        for node in processes:
            node.process.terminate()
        for node in processes:
            node.process.wait(timeout=30)
            node.log.unlink(missing_ok=True)
        executor.shutdown()
        rig.node.destroy_node()
    fps = [v["fps"] for v in per_camera.values()]
    latencies = [v["latency_median_ms"] for v in per_camera.values() if v["latency_median_ms"]]
    summary = {
        "mode": mode,
        "cameras": count,
        "overlap": overlap,
        "fps_per_camera_mean": round(float(np.mean(fps)), 3),
        "latency_median_ms_mean": round(float(np.mean(latencies)), 1) if latencies else None,
        "load_average_1m": os.getloadavg()[0],
        "per_camera": per_camera,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "per_camera"}), flush=True)
    return summary


def main() -> None:
    args = parse_args()
    os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(LARGE_IMAGE_PROFILE))
    os.environ.setdefault("ROS_DOMAIN_ID", str(50 + os.getpid() % 30))
    import rclpy

    with tempfile.TemporaryDirectory(prefix="multi_camera_") as scratch:
        weights = ""
        if args.random_coef is not None:
            from hybridnets_core import HybridNets, ModelConfig
            from hybridnets_core.model.checkpoint import save_checkpoint

            config = ModelConfig(compound_coef=args.random_coef)
            weights = str(Path(scratch) / "random.pth")
            save_checkpoint(weights, HybridNets.from_config(config), config)
        runs = []
        cases = [(count, "one_node", True) for count in args.cameras]
        if not args.skip_separate:
            cases += [(count, "separate_nodes", True) for count in args.cameras if count > 1]
        cases.append((1, "one_node", False))  # no overlap
        base_domain = int(os.environ["ROS_DOMAIN_ID"])
        for index, (count, mode, overlap) in enumerate(cases):
            # a fresh DDS domain per case: no discovery state left by the previous nodes
            os.environ["ROS_DOMAIN_ID"] = str(base_domain + index)
            context = rclpy.Context()
            rclpy.init(context=context, domain_id=base_domain + index)
            try:
                runs.append(run_case(context, args, weights, mode, count, overlap))
            finally:
                rclpy.shutdown(context=context)
    report = {
        "model": f"random coef {args.random_coef}" if args.random_coef is not None else "built-in",
        "frame_size": list(FRAME_SIZE),
        "rate_hz": args.rate,
        "duration_s": args.duration,
        "batch_timeout_s": args.batch_timeout,
        "device": args.device,
        "machine": machine_info(),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
