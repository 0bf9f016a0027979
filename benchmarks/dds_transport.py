"""Fast DDS transport set-ups compared: raw images delivered between processes, and whether a
process with a plain environment (what `ros2 node list / param / lifecycle` are) can see and
call hybridnets_node.

    PYTHONPATH=$PWD nice -n 10 python benchmarks/dds_transport.py [--seconds 8] [--domain 64]

Every case starts fresh processes in a private ROS_DOMAIN_ID. Frames: a publisher sends bgr8
images at 30 Hz for --seconds to a subscriber in another process (best effort, depth 1 as the
node subscribes; or reliable), each with the environment the case names; delivered = distinct
frames received / sent. CLI: hybridnets_node (built-in model) runs with the case's environment
and --probes fresh processes with the case's CLI environment (default, or another set-up)
each list the graph, list and fetch every parameter (but the unset `cameras`, which empties a
request naming it) and ask the lifecycle state, as `ros2 node list`, `ros2 param dump` and
`ros2 lifecycle get` do. Results: benchmarks/results/dds_transport.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "config" / "fastdds_large_images.xml"
RESULTS = REPO / "benchmarks" / "results" / "dds_transport.json"
RATE_HZ = 30.0
NODE = "/hybridnets_node"
# Variables that choose DDS transports or discovery: removed to get a plain environment.
DDS_VARIABLES = (
    "FASTDDS_BUILTIN_TRANSPORTS",
    "FASTDDS_DEFAULT_PROFILES_FILE",
    "FASTRTPS_DEFAULT_PROFILES_FILE",
    "ROS_AUTOMATIC_DISCOVERY_RANGE",
    "ROS_LOCALHOST_ONLY",
    "ROS_STATIC_PEERS",
    "RMW_IMPLEMENTATION",
)
SETUPS: dict[str, dict[str, str]] = {
    "default": {},
    "large_data": {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"},
    "profile": {
        "FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE),
    },
    "localhost": {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"},
    "profile_localhost": {
        "FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
    },
}
# (publisher set-up, subscriber set-up, width, height, reliability)
FRAME_CASES = (
    ("default", "default", 160, 90, "best_effort"),
    ("default", "default", 1280, 720, "best_effort"),
    ("localhost", "localhost", 1280, 720, "best_effort"),
    ("large_data", "large_data", 1280, 720, "best_effort"),
    ("default", "profile", 1280, 720, "best_effort"),
    ("profile", "profile", 1280, 720, "best_effort"),
    ("profile", "profile", 1920, 1080, "best_effort"),
    ("profile_localhost", "profile_localhost", 1280, 720, "best_effort"),
    ("profile", "profile", 1280, 720, "reliable"),
    ("default", "default", 1280, 720, "reliable"),
)
# (node set-up, CLI set-up)
CLI_CASES = (
    ("default", "default"),
    ("large_data", "default"),
    ("large_data", "large_data"),
    ("profile", "default"),
    ("profile", "profile"),
    ("profile", "localhost"),
)


def environment(setup: str, domain: int, log_dir: str) -> dict[str, str]:
    """This process's environment without DDS choices, plus the set-up's, domain and log dir."""
    env = {key: value for key, value in os.environ.items() if key not in DDS_VARIABLES}
    env.update(SETUPS[setup], ROS_DOMAIN_ID=str(domain), ROS_LOG_DIR=log_dir)
    return env


def qos(reliability: str) -> Any:
    """The image QoS: best effort depth 1 (as the node subscribes) or reliable depth 10."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    policy = (
        ReliabilityPolicy.RELIABLE if reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
    )
    return QoSProfile(depth=1 if reliability == "best_effort" else 10, reliability=policy)


def ready_qos() -> Any:
    """The counter's one `ready` message, kept for a publisher that matches later."""
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
    )


def run_subscriber(reliability: str) -> None:
    """Count distinct frames on `image` until stdin closes; announce on `ready` once matched."""
    import rclpy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Empty

    rclpy.init()
    node = rclpy.create_node("frame_counter")
    seen: set[int] = set()
    node.create_subscription(
        Image, "image", lambda msg: seen.add(msg.header.stamp.nanosec), qos(reliability)
    )
    ready = node.create_publisher(Empty, "ready", ready_qos())
    # The parent closes stdin to stop the count (a signal may be ignored in a background job).
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    announced = False
    while not stop.is_set():
        rclpy.spin_once(node, timeout_sec=0.1)
        if not announced and node.count_publishers("image") > 0:
            ready.publish(Empty())
            announced = True
    print(json.dumps({"received": len(seen)}), flush=True)


def run_publisher(width: int, height: int, reliability: str, seconds: float) -> None:
    """Wait for the counter's `ready`, then publish bgr8 frames at 30 Hz; print how many."""
    import rclpy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Empty

    rclpy.init()
    node = rclpy.create_node("frame_source")
    ready: list[bool] = []
    node.create_subscription(Empty, "ready", lambda _: ready.append(True), ready_qos())
    publisher = node.create_publisher(Image, "image", qos(reliability))
    deadline = time.monotonic() + 30.0
    while not (ready and publisher.get_subscription_count()) and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    msg = Image(width=width, height=height, encoding="bgr8", step=width * 3)
    msg.data = bytes(width * height * 3)
    count = int(seconds * RATE_HZ) if ready else 0
    start = time.monotonic()
    for index in range(count):
        time.sleep(max(0.0, start + index / RATE_HZ - time.monotonic()))
        msg.header.stamp.nanosec = index
        publisher.publish(msg)
    print(json.dumps({"sent": count, "matched": bool(ready)}), flush=True)


def run_probe(timeout: float) -> None:
    """One CLI-like process: node listed, every parameter listed and fetched, lifecycle state."""
    import rclpy
    from lifecycle_msgs.srv import GetState
    from rcl_interfaces.srv import GetParameters, ListParameters

    rclpy.init()
    node = rclpy.create_node("cli_probe")
    result: dict[str, Any] = {"listed": False, "params": False, "lifecycle": False}

    def call(srv_type: Any, name: str, request: Any) -> Any:
        client = node.create_client(srv_type, f"{NODE}/{name}")
        if not client.wait_for_service(timeout_sec=timeout):
            return None
        future = client.call_async(request)
        rclpy.spin_until_future_complete(node, future, timeout_sec=timeout)
        return future.result()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not result["listed"]:
        names = node.get_node_names_and_namespaces()
        result["listed"] = any(f"{ns.rstrip('/')}/{n}" == NODE for n, ns in names)
        rclpy.spin_once(node, timeout_sec=0.1)
    listed = call(ListParameters, "list_parameters", ListParameters.Request())
    if listed is not None:
        names = [n for n in listed.result.names if n != "cameras"]  # unset: see the test
        values = call(GetParameters, "get_parameters", GetParameters.Request(names=names))
        result["params"] = values is not None and len(values.values) == len(names) > 0
    state = call(GetState, "get_state", GetState.Request())
    result["lifecycle"] = state is not None and state.current_state.label == "active"
    print(json.dumps(result), flush=True)


def role_command(*args: str) -> list[str]:
    """This script run as one of its roles (sub, pub, probe) in a new process."""
    return [sys.executable, str(Path(__file__).resolve()), "--role", *args]


def frames_case(case: tuple[Any, ...], seconds: float, domain: int, log_dir: str) -> dict[str, Any]:
    """Delivered frames of one (publisher, subscriber, size, reliability) case."""
    pub_setup, sub_setup, width, height, reliability = case
    subscriber = subprocess.Popen(
        role_command("sub", reliability),
        env=environment(sub_setup, domain, log_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    publisher = subprocess.run(
        role_command("pub", str(width), str(height), reliability, str(seconds)),
        env=environment(pub_setup, domain, log_dir),
        capture_output=True,
        text=True,
        timeout=seconds + 90,
        check=True,
    )
    sent = json.loads(publisher.stdout.strip().splitlines()[-1])
    # The last frame was published; give the subscriber a moment to take it, then stop it.
    time.sleep(0.5)
    out, _ = subscriber.communicate(input="", timeout=30)
    received = json.loads(out.strip().splitlines()[-1])["received"]
    return {
        "publisher": pub_setup,
        "subscriber": sub_setup,
        "size": f"{width}x{height}",
        "reliability": reliability,
        "sent": sent["sent"],
        "received": received,
        "delivered_pct": round(100.0 * received / sent["sent"], 1) if sent["sent"] else 0.0,
    }


def cli_case(setup: str, cli: str, probes: int, domain: int, log_dir: str) -> dict[str, Any]:
    """CLI-like calls from processes with set-up `cli` to the node run with `setup`."""
    node_log = Path(log_dir) / f"node_{setup}_{cli}.log"
    with node_log.open("w") as log:
        node = subprocess.Popen(
            [str(Path(sys.executable).parent / "hybridnets_node")],
            env=environment(setup, domain, log_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "active: listening on" not in node_log.read_text() and time.monotonic() < deadline:
            if node.poll() is not None:
                raise RuntimeError(f"node exited:\n{node_log.read_text()}")
            time.sleep(0.2)
        answers = []
        for _ in range(probes):
            probe = subprocess.run(
                role_command("probe", "10"),
                env=environment(cli, domain, log_dir),
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            answers.append(json.loads(probe.stdout.strip().splitlines()[-1]))
    finally:
        node.send_signal(signal.SIGINT)
        node.wait(timeout=30)
    counts = {key: sum(a[key] for a in answers) for key in ("listed", "params", "lifecycle")}
    return {"node": setup, "cli": cli, "probes": probes, **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=5.0, help="publishing time per case")
    parser.add_argument("--probes", type=int, default=5, help="CLI-like processes per case")
    parser.add_argument("--domain", type=int, default=61, help="private ROS_DOMAIN_ID")
    parser.add_argument("--only", choices=("frames", "cli"), help="measure one part only")
    args = parser.parse_args()
    if args.role:
        role, *rest = args.role
        if role == "sub":
            run_subscriber(rest[0])
        elif role == "pub":
            run_publisher(int(rest[0]), int(rest[1]), rest[2], float(rest[3]))
        else:
            run_probe(float(rest[0]))
        return
    sys.path.insert(0, str(REPO / "benchmarks"))
    from machine import machine_info

    results: dict[str, Any] = {"frames": [], "cli": [], "rate_hz": RATE_HZ}
    results["seconds_per_case"] = args.seconds
    with tempfile.TemporaryDirectory() as log_dir:
        for case in () if args.only == "cli" else FRAME_CASES:
            row = frames_case(case, args.seconds, args.domain, log_dir)
            results["frames"].append(row)
            print(
                f"frames {row['publisher']:>17} -> {row['subscriber']:<17} {row['size']:>9} "
                f"{row['reliability']:<11} {row['received']:4d}/{row['sent']:<4d} "
                f"{row['delivered_pct']:5.1f} %",
                flush=True,
            )
        for setup, cli in () if args.only == "frames" else CLI_CASES:
            row = cli_case(setup, cli, args.probes, args.domain, log_dir)
            results["cli"].append(row)
            print(
                f"cli node {setup:<10} cli {cli:<10} listed {row['listed']}/{row['probes']} params "
                f"{row['params']}/{row['probes']} lifecycle {row['lifecycle']}/{row['probes']}",
                flush=True,
            )
    results["machine"] = machine_info()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
