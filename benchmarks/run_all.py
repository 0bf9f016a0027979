"""Run every benchmark on the current code and stamp each JSON with how it was made.

Each benchmark writes `benchmarks/results/NAME.json`; this script then adds a `provenance`
section to it: the exact command, when it ran and for how long, the machine, its load before
and after, the library versions and the git commit. The README's "Measured" table and the
tables in docs/measurements.md are generated from those files (`benchmarks/tables.py`).

    python benchmarks/run_all.py                 # everything, one after the other
    python benchmarks/run_all.py --only runtimes node_latency
    python benchmarks/run_all.py --list
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from machine import REPO, machine_info

RESULTS = REPO / "benchmarks" / "results"
DASHCAM_FRAME = "test/data/dashcam/1.jpg"
CLI = "-m hybridnets_core.cli.main"
COEF3_BENCH = (
    f"{CLI} bench --random -c 3 --size 640x384 --image {DASHCAM_FRAME} --runs 10 --warmup 2"
)


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: its arguments after `python` ({out}: its JSON, {scratch}: a temp folder)."""

    name: str
    arguments: str
    what: str

    def command(self, out: Path, scratch: Path) -> list[str]:
        values = {"out": str(out), "scratch": str(scratch)}
        return [sys.executable, *shlex.split(self.arguments.format(**values))]


BENCHMARKS = (
    Benchmark(
        "runtimes",
        f"{COEF3_BENCH} --json {{out}} "
        "--backend torch-reference,torch,onnxruntime,onnxruntime-int8",
        "forward and Pipeline per backend, coefficient 3, interleaved",
    ),
    Benchmark(
        "runtimes_ort_operators",
        f"{COEF3_BENCH} --json {{out}} --backend onnxruntime,onnxruntime-int8 --no-native-ops",
        "INT8 with ONNX Runtime's operators only, beside fp32",
    ),
    Benchmark(
        "contention",
        "benchmarks/contention.py --coef 3 --size 640x384 --runs 5 --warmup 2 --out {out}",
        "forward quiet and beside a busy process per core but one, old and new thread settings",
    ),
    Benchmark(
        "int8_accuracy",
        "benchmarks/int8_accuracy.py --data {scratch}/int8 --train 32 --val 150 --size 256 512 "
        "--out {out}",
        "built-in model, fp32 against INT8 ONNX Runtime, accuracy and forward",
    ),
    Benchmark(
        "node_latency",
        "benchmarks/node_latency.py --random-coef 3 --rates 1 10 30 --duration 20 --out {out}",
        "the node in its own process: latency split by stage, 1-30 Hz",
    ),
    Benchmark(
        "multi_camera",
        "benchmarks/multi_camera.py --cameras 1 2 4 --rate 30 --duration 15 --out {out}",
        "built-in model: overlap, one node batching cameras against separate nodes",
    ),
    Benchmark(
        "multi_camera_coef3",
        "benchmarks/multi_camera.py --random-coef 3 --cameras 1 2 --rate 30 --duration 15 "
        "--out {out}",
        "the same with the coefficient-3 network",
    ),
    Benchmark(
        "val_memory",
        "benchmarks/val_memory.py --images 400 --out {out}",
        "hybridnets val's memory with every box kept",
    ),
    Benchmark("nms_speed", "benchmarks/nms_speed.py --out {out}", "exact class-wise NMS"),
    Benchmark("objects_cost", "benchmarks/objects_cost.py --json {out}", "objects on the ground"),
    Benchmark("tracking_cost", "benchmarks/tracking_cost.py --json {out}", "the tracker"),
    Benchmark(
        "fusion_cost",
        "benchmarks/fusion_cost.py --json {out}",
        "fusion across three cameras and the surround grid",
    ),
    Benchmark(
        "lanes_cost",
        "benchmarks/lanes_cost.py --repeats 60 --mask-sizes 1280x720 640x360 --json {out}",
        "lane points and fits",
    ),
    Benchmark(
        "planner_cost",
        "benchmarks/planner_cost.py --out {out}",
        "objects + tracking + lanes, path and local map",
    ),
    Benchmark(
        "bag_eval_overhead",
        "benchmarks/bag_eval_overhead.py --frames 40 --out {out}",
        "what stability, the pose check and agreement add to bag-eval per frame",
    ),
    Benchmark(
        "synth_speed",
        "benchmarks/synth_speed.py --frames 300 --json {out}",
        "synthetic scenes written per second",
    ),
    Benchmark(
        "planner_drives",
        "benchmarks/planner_drives.py --seeds 0-6 --out {out}",
        "built-in model over seven 300-frame synthetic drives, against their labels",
    ),
    Benchmark(
        "planner_scenarios",
        "benchmarks/planner_drives.py --seeds 0-1 --scenarios braking-lead,cut-in --out {out}",
        "built-in model over scripted 300-frame drives: a braking lead and a cut-in",
    ),
    Benchmark(
        "planner_drives_box_edges",
        "benchmarks/planner_drives.py --seeds 0-6 --out {out} -- --no-contact-from-drivable",
        "the same with objects at their boxes' bottom edges",
    ),
    Benchmark(
        "builtin_heldout",
        "benchmarks/builtin_heldout.py --out {out}",
        "built-in model on 300 held-out synthetic scenes, both protocols",
    ),
    Benchmark("dds_transport", "benchmarks/dds_transport.py", "Fast DDS transports"),
)


def relative(argument: str) -> str:
    """A path inside the checkout as the command a reader would type from its root."""
    return argument.replace(f"{REPO}/", "")


class LoadSampler(threading.Thread):
    """Samples the 1-minute load average while a benchmark runs (its own threads count too)."""

    def __init__(self, period_s: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.period_s = period_s
        self.samples: list[float] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self.stopped.wait(self.period_s):
                return

    def summary(self) -> dict[str, float]:
        return {
            "min": round(min(self.samples), 2),
            "mean": round(statistics.fmean(self.samples), 2),
            "max": round(max(self.samples), 2),
        }


def run(benchmark: Benchmark) -> float:
    """Run one benchmark and add its provenance to the JSON it wrote; seconds taken."""
    out = RESULTS / f"{benchmark.name}.json"
    with tempfile.TemporaryDirectory(prefix=f"{benchmark.name}_") as scratch:
        command = benchmark.command(out, Path(scratch))
        before, started = machine_info(), time.perf_counter()
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        sampler = LoadSampler()
        sampler.start()
        try:
            subprocess.run(command, cwd=REPO, check=True)
        finally:
            sampler.stopped.set()
            sampler.join()
        seconds = time.perf_counter() - started
    report = json.loads(out.read_text())
    report["provenance"] = {
        "command": ["python", *(relative(argument) for argument in command[1:])],
        "started_utc": when,
        "wall_s": round(seconds, 1),
        "machine": before,
        "load_average_after": machine_info()["load_average_1_5_15"],
        "load_average_1m_during": sampler.summary(),
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    return seconds


def stop_on_sigterm() -> None:
    """SIGTERM stops like Ctrl-C, so the running benchmark is stopped with this script."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main() -> int:
    stop_on_sigterm()
    names = [benchmark.name for benchmark in BENCHMARKS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME", help="these only")
    parser.add_argument("--list", action="store_true", help="print the benchmarks and stop")
    args = parser.parse_args()
    if args.list:
        for benchmark in BENCHMARKS:
            print(f"{benchmark.name:26s} {benchmark.what}")
        return 0
    chosen = [b for b in BENCHMARKS if args.only is None or b.name in args.only]
    failed = []
    for benchmark in chosen:
        print(f"== {benchmark.name}: {benchmark.what}", flush=True)
        try:
            seconds = run(benchmark)
        except subprocess.CalledProcessError as exc:
            failed.append(benchmark.name)  # its JSON is left as it was; the others still run
            print(f"== {benchmark.name} FAILED (exit {exc.returncode})", flush=True)
            continue
        print(f"== {benchmark.name} done in {seconds:.0f} s", flush=True)
    if failed:
        print(f"failed: {' '.join(failed)} (rerun with --only {' '.join(failed)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
