"""End-to-end latency of hybridnets_node in its own process, against `hybridnets bench`.

Publishes 1280x720 bgr8 frames at fixed rates, each stamped with the wall clock at publish
time, and measures stamp -> detections received; reads drops and stage latencies from the
node's /diagnostics and its CPU use from /proc. The Pipeline time for the same weights
comes from `hybridnets bench`, run first on an idle machine. Writes everything as JSON.

  python benchmarks/node_latency.py --random-coef 3 --rates 10 30 --duration 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from machine import machine_info

REPO = Path(__file__).resolve().parent.parent
DEFAULT_IMAGE = REPO / "test" / "data" / "dashcam" / "1.jpg"
LARGE_IMAGE_PROFILE = REPO / "config" / "fastdds_large_images.xml"  # as the launch file sets
SOURCE_WH = (1280, 720)
PIPELINE_STAGES = ("preprocess", "forward", "postprocess")
GLUE_STAGES = ("decode", "output", "publish")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    weights = parser.add_mutually_exclusive_group(required=True)
    weights.add_argument("--weights", type=Path, help="checkpoint for the node and the bench")
    weights.add_argument("--random-coef", type=int, help="random-initialised model of this coef")
    parser.add_argument("--rates", type=float, nargs="+", default=[30.0], help="camera Hz")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per rate")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="frame to publish")
    parser.add_argument("--out", type=Path, default=Path("node_latency.json"))
    return parser.parse_args()


def random_checkpoint(coef: int, folder: Path) -> Path:
    """Save a random-initialised model of compound coefficient `coef` (timing only)."""
    from hybridnets_core import HybridNets, ModelConfig
    from hybridnets_core.model.checkpoint import save_checkpoint

    config = ModelConfig(compound_coef=coef)
    path = folder / f"random_coef{coef}.pth"
    save_checkpoint(path, HybridNets.from_config(config), config)
    return path


def pipeline_bench(weights: Path, image: Path, device: str, folder: Path) -> dict[str, Any]:
    """`hybridnets bench` on the same weights and frame: Pipeline stage times."""
    report = folder / "bench.json"
    command = [sys.executable, "-m", "hybridnets_core.cli.main", "bench", "--weights", str(weights)]
    command += ["--image", str(image), "--device", device, "--runs", "20", "--json", str(report)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(report.read_text())


def node_command() -> list[str]:
    """The installed entry point, else the module (same code path)."""
    exe = shutil.which("hybridnets_node") or str(Path(sys.executable).parent / "hybridnets_node")
    return [exe] if os.access(exe, os.X_OK) else [sys.executable, "-m", "hybridnets_ros.node"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Camera:
    """A publisher of stamped frames and a recorder of detection latencies and diagnostics."""

    def __init__(self, context: Any, image: np.ndarray) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.node import Node
        from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import Image
        from vision_msgs.msg import Detection2DArray

        self.node = Node("latency_camera", context=context)
        self.frame = Image(height=image.shape[0], width=image.shape[1], encoding="bgr8")
        self.frame.step = image.shape[1] * 3
        self.frame.data = image.tobytes()
        self.frame.header.frame_id = "camera"
        self.publisher = self.node.create_publisher(Image, "image", qos_profile_sensor_data)
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self.node.create_subscription(
            Detection2DArray, "hybridnets_node/detections", self._on_detections, reliable
        )
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, reliable)
        self.latencies: list[tuple[float, float]] = []  # (publish time, latency ms)
        self.diagnostics: dict[str, str] = {}
        self.diagnostics_time = 0.0

    def _on_detections(self, msg: Any) -> None:
        sent = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        self.latencies.append((sent, (time.time() - sent) * 1000))

    def _on_diag(self, msg: Any) -> None:
        status = msg.status[0]
        if status.name.startswith("/hybridnets_node"):
            self.diagnostics = {kv.key: kv.value for kv in status.values}
            self.diagnostics_time = time.time()

    def publish_for(self, seconds: float, rate: float) -> int:
        """Publish at `rate` Hz for `seconds`; return how many frames were sent."""
        period, sent = 1.0 / rate, 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            stamp = time.time()
            self.frame.header.stamp.sec = int(stamp)
            self.frame.header.stamp.nanosec = int((stamp % 1) * 1e9)
            self.publisher.publish(self.frame)
            sent += 1
            time.sleep(max(0.0, start + sent * period - time.perf_counter()))
        return sent


def summarise(latencies: list[tuple[float, float]], seconds: float) -> dict[str, Any]:
    """Median/p95 latency, processed rate, and drift: latency trend over the run (ms/s)."""
    if not latencies:
        return {"received": 0}
    sent_at = np.array([t for t, _ in latencies])
    values = np.array([v for _, v in latencies])
    thirds = np.array_split(values, 3)
    slope = float(np.polyfit(sent_at - sent_at[0], values, 1)[0]) if len(values) > 2 else 0.0
    return {
        "received": len(values),
        "processed_rate_hz": len(values) / seconds,
        "latency_median_ms": float(np.median(values)),
        "latency_p95_ms": float(np.percentile(values, 95)),
        "latency_median_by_third_ms": [float(np.median(t)) for t in thirds if t.size],
        "latency_trend_ms_per_s": slope,
    }


def measure(camera: Camera, pid: int, rate: float, args: argparse.Namespace) -> dict[str, Any]:
    """One camera rate against a fresh node: warm up, publish for `duration`, collect."""
    camera.publish_for(args.warmup, rate)
    time.sleep(1.0)
    camera.latencies.clear()
    dropped_before = int(camera.diagnostics.get("frames_dropped", 0))
    cpu_before, wall_before = cpu_seconds(pid), time.perf_counter()
    sent = camera.publish_for(args.duration, rate)
    cpu = (cpu_seconds(pid) - cpu_before) / (time.perf_counter() - wall_before)
    time.sleep(2.5)  # last results and one more diagnostics period
    latencies = list(camera.latencies)
    result = summarise(latencies, args.duration)
    diag = camera.diagnostics
    # The node's stage latencies cover its last `latency_window_s`: compare like with like.
    since = camera.diagnostics_time - float(diag.get("latency_window_s", "inf"))
    in_window = [v for t, v in latencies if t >= since]
    result.update(
        camera_rate_hz=rate,
        sent=sent,
        node_dropped=int(diag.get("frames_dropped", 0)) - dropped_before,
        node_cpu_cores=cpu,
        overlap=diag.get("overlap") == "true",
        node_stage_median_ms={
            k.removeprefix("latency_").removesuffix("_median_ms"): float(v)
            for k, v in diag.items()
            if k.endswith("_median_ms")
        },
    )
    split_latency(result, float(np.median(in_window)) if in_window else float("nan"))
    return result


def split_latency(run: dict[str, Any], window_latency_ms: float) -> None:
    """Latency = node Pipeline + worker wait + node glue + transport (DDS both ways).

    Stage medians come from the node's diagnostics (its last seconds); transport is the
    median latency of the frames in that window minus the node's median total. The
    worker wait exists only while the camera outpaces the model (the newest frame waits for
    the one in progress). Overhead = glue + transport: everything the node adds.
    """
    stages = run["node_stage_median_ms"]
    run["node_pipeline_ms"] = sum(stages.get(k, 0.0) for k in PIPELINE_STAGES)
    run["worker_wait_ms"] = stages.get("wait", float("nan"))
    # the node's stages do not overlap: glue is decoding, building the messages and publishing
    run["node_glue_ms"] = sum(stages.get(k, 0.0) for k in GLUE_STAGES)
    run["transport_ms"] = window_latency_ms - stages.get("total", float("nan"))
    run["overhead_ms"] = run["node_glue_ms"] + run["transport_ms"]


def run_rate(weights: Path, image: np.ndarray, rate: float, args: argparse.Namespace) -> dict:
    """Start hybridnets_node, measure one camera rate, stop it with Ctrl-C."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    command = [*node_command(), "--ros-args", "-p", f"weights:={weights}"]
    command += ["-p", f"device:={args.device}"]
    node = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    context = rclpy.Context()
    rclpy.init(context=context)
    camera = Camera(context, image)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(camera.node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        deadline = time.monotonic() + 120
        while camera.publisher.get_subscription_count() == 0:
            if node.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("hybridnets_node did not start")
            time.sleep(0.1)
        return measure(camera, node.pid, rate, args)
    finally:
        node.send_signal(signal.SIGINT)
        node.wait(timeout=20)
        executor.shutdown()
        spinner.join(timeout=5)
        camera.node.destroy_node()
        rclpy.shutdown(context=context)


def describe(run: dict[str, Any]) -> str:
    """One line per camera rate for the console."""
    get = run.get
    return (
        f"{run['camera_rate_hz']:5.1f} Hz: latency median {get('latency_median_ms', 0):.1f} ms, "
        f"p95 {get('latency_p95_ms', 0):.1f} ms, trend {get('latency_trend_ms_per_s', 0):+.2f} "
        f"ms/s; processed {get('processed_rate_hz', 0):.2f} Hz, dropped {run['node_dropped']}/"
        f"{run['sent']}; = Pipeline {run['node_pipeline_ms']:.1f} + wait "
        f"{run['worker_wait_ms']:.1f} + glue {run['node_glue_ms']:.1f} + transport "
        f"{run['transport_ms']:.1f} ms (overhead {run['overhead_ms']:.1f} ms); "
        f"node CPU {run['node_cpu_cores']:.2f} cores"
    )


def main() -> int:
    args = parse_args()
    folder = Path(tempfile.mkdtemp(prefix="node_latency_"))
    os.environ.update(
        ROS_LOG_DIR=str(folder / "log"),
        ROS_DOMAIN_ID=str(1 + os.getpid() % 100),
        FASTDDS_DEFAULT_PROFILES_FILE=str(LARGE_IMAGE_PROFILE),
    )
    weights = args.weights or random_checkpoint(args.random_coef, folder)
    image = cv2.resize(cv2.imread(str(args.image)), SOURCE_WH)
    frame_path = folder / "frame.png"
    cv2.imwrite(str(frame_path), image)
    print(f"hybridnets bench on {weights} ...", flush=True)
    bench = pipeline_bench(weights, frame_path, args.device, folder)
    bench_ms = bench["stages"]["total"]["median_ms"]
    print(f"Pipeline (hybridnets bench) median {bench_ms:.1f} ms", flush=True)
    runs = []
    for rate in args.rates:
        run = run_rate(weights, image, rate, args)
        run["overhead_vs_bench_ms"] = run.get("latency_median_ms", float("nan")) - bench_ms
        runs.append(run)
        print(describe(run), flush=True)
    report = {
        "weights": str(args.weights or f"random coef {args.random_coef}"),
        "source_size": [SOURCE_WH[1], SOURCE_WH[0]],
        "duration_s": args.duration,
        "pipeline_bench": bench,
        "pipeline_bench_median_ms": bench_ms,
        "runs": runs,
        "machine_at_end": machine_info(),  # other work skews the numbers
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
