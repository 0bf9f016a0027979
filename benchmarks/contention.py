"""Forward time with the CPU to itself and with other processes busy on it: torch and ONNX
Runtime, with their old thread settings against the new defaults, in one run.

"old": what the libraries do by themselves (torch: its default thread count and OpenMP wait
policy, whose idle threads spin; ONNX Runtime: its default intra-op threads, spinning on).
"new": `ThreadSettings()`, what the node and the CLI use by default: one thread per core this
process may use, no spinning (OMP_WAIT_POLICY=PASSIVE, `session.intra_op.allow_spinning` 0).
Each runtime and setting runs in its own process (OpenMP reads its wait policy once, when torch
loads it), first quiet, then beside one busy-loop process per core but one, then beside one per
core (every core busy, as beside a training run).

    python benchmarks/contention.py --coef 3 --size 640x384 --runs 5 --out contention.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from machine import machine_info

from hybridnets_core.cli.arg_types import image_size
from hybridnets_core.fileio import write_json
from hybridnets_core.runtime.threads import WAIT_POLICY, ThreadSettings, available_cores

RUNTIMES = ("torch", "onnxruntime")
SETTINGS = ("old", "new")
BUSY_LOOP = "import sys\nprint('busy', flush=True)\nwhile True:\n    pass\n"


def competitors_for(cores: int) -> int:
    """One busy process per core but one (at least one, so a single core is contended too)."""
    return max(1, cores - 1)


def network(coef: int, size: tuple[int, int]) -> Any:
    """The random-weight network of `coef` at `size` (H, W), the same in every process."""
    import torch

    from hybridnets_core import HybridNets, ModelConfig

    torch.manual_seed(0)
    config = ModelConfig(compound_coef=coef, input_size=size)
    return HybridNets.from_config(config).eval(), config


def export(coef: int, size: tuple[int, int], folder: Path) -> Path:
    """The network as an fp32 ONNX file in `folder`."""
    from hybridnets_core.export.exporter import ExportOptions, export_model

    model, config = network(coef, size)
    return export_model(model, config, folder / "model.onnx", ExportOptions(size)).onnx_path


def build_runtime(case: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The runtime of one case and the thread settings it ended up with."""
    new = case["settings"] == "new"
    threads = ThreadSettings()
    if case["runtime"] == "onnxruntime":
        from hybridnets_core.runtime.onnx_runtime import OnnxOptions, load_onnx_runtime

        # old: ONNX Runtime's own defaults (its thread count, idle threads spinning)
        options = OnnxOptions(threads.count, spinning=False) if new else OnnxOptions(spinning=True)
        runtime = load_onnx_runtime(case["onnx"], options=options)
        used = {"threads": options.threads or "onnxruntime default", "spin": options.spinning}
        return runtime, used
    from hybridnets_core.runtime.threads import use_torch_threads

    if new:
        use_torch_threads(threads)  # its wait policy first: torch is not loaded yet here
    import torch

    from hybridnets_core.runtime.torch_runtime import TorchRuntime

    model, config = network(case["coef"], tuple(case["size"]))
    used = {"threads": torch.get_num_threads(), WAIT_POLICY: os.environ.get(WAIT_POLICY)}
    return TorchRuntime(model, config), used


def timed(runtime: Any, batch: np.ndarray, runs: int, warmup: int) -> dict[str, float]:
    """Median, p90 and mean forward time (ms) of `runs` passes after `warmup` ones."""
    for _ in range(warmup):
        runtime.network(batch)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        runtime.network(batch)
        times.append((time.perf_counter() - start) * 1000.0)
    ordered = sorted(times)
    return {
        "median_ms": statistics.median(times),
        "p90_ms": ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
        "mean_ms": statistics.fmean(times),
    }


def start_competitors(count: int) -> list[subprocess.Popen]:
    """`count` busy-loop processes, returned once each one runs its loop."""
    busy = [
        subprocess.Popen([sys.executable, "-c", BUSY_LOOP], stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    for process in busy:
        if process.stdout.readline().strip() != "busy":
            raise RuntimeError("a busy-loop process did not start")
    return busy


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.kill()
        process.wait()


def beside(count: int, runtime: Any, batch: np.ndarray, runs: int) -> dict[str, float]:
    """Forward times while `count` busy-loop processes run."""
    busy = start_competitors(count)
    try:
        return timed(runtime, batch, runs, 1)
    finally:
        stop(busy)


def worker(case: dict[str, Any]) -> dict[str, Any]:
    """One case in this process: quiet, then beside the competitors, then with every core
    busy."""
    runtime, used = build_runtime(case)
    height, width = case["size"]
    batch = np.random.default_rng(0).standard_normal((1, 3, height, width), np.float32)
    quiet = timed(runtime, batch, case["runs"], case["warmup"])
    contended = beside(case["competitors"], runtime, batch, case["runs"])
    saturated = beside(case["cores"], runtime, batch, case["runs"])
    return {
        "thread_settings": used,
        "quiet": quiet,
        "contended": contended,
        "slowdown": contended["median_ms"] / quiet["median_ms"],
        "saturated": saturated,
        "slowdown_saturated": saturated["median_ms"] / quiet["median_ms"],
    }


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """One case in a fresh process; "old" leaves OMP_WAIT_POLICY unset there."""
    environment = {key: value for key, value in os.environ.items() if key != WAIT_POLICY}
    result = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(case)],
        env=environment,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coef", type=int, default=3, help="compound coefficient (3)")
    parser.add_argument("--size", type=image_size, default=(384, 640), help="WxH (640x384)")
    parser.add_argument("--runs", type=int, default=5, help="timed passes per phase (5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed passes first (2)")
    parser.add_argument("--runtimes", nargs="+", choices=RUNTIMES, default=list(RUNTIMES))
    parser.add_argument("--out", type=Path, required=False, help="JSON report")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    cores = available_cores()
    report: dict[str, Any] = {
        "what": "forward time quiet and beside busy-loop processes, old and new thread settings",
        "compound_coef": args.coef,
        "input_size": list(args.size),
        "runs": args.runs,
        "warmup": args.warmup,
        "cores": cores,
        "competitors": competitors_for(cores),
        "machine": machine_info(),
        "results": {},
    }
    with tempfile.TemporaryDirectory(prefix="contention_") as scratch:
        onnx = None
        if "onnxruntime" in args.runtimes:
            onnx = str(export(args.coef, args.size, Path(scratch)))
        for name in args.runtimes:
            report["results"][name] = {}
            for settings in SETTINGS:
                case = {
                    "runtime": name,
                    "settings": settings,
                    "coef": args.coef,
                    "size": list(args.size),
                    "onnx": onnx,
                    "runs": args.runs,
                    "warmup": args.warmup,
                    "competitors": report["competitors"],
                    "cores": cores,
                }
                result = run_case(case)
                report["results"][name][settings] = result
                print(
                    f"{name:12s} {settings}: quiet {result['quiet']['median_ms']:.1f} ms, "
                    f"contended {result['contended']['median_ms']:.1f} ms "
                    f"({result['slowdown']:.2f}x), every core busy "
                    f"{result['saturated']['median_ms']:.1f} ms "
                    f"({result['slowdown_saturated']:.2f}x)",
                    flush=True,
                )
    if args.out:
        write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
