"""Pipeline benchmark: per-stage latency of one or more backends, interleaved on the same frame."""

from __future__ import annotations

import os
import platform
import statistics
from typing import Any

import numpy as np
import torch

from .pipeline import Pipeline

STAGES = ("preprocess", "forward", "postprocess")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def benchmark_pipelines(
    pipelines: dict[str, Pipeline], image: np.ndarray, runs: int, warmup: int, batch: int = 1
) -> dict[str, Any]:
    """Run every pipeline `warmup + runs` times, taking turns so load changes hit all alike;
    each run is one batch of `batch` copies of `image`, and times are per image.

    The report is the first pipeline's (stages, FPS, ...) plus `backends` (each pipeline's)
    and `ratios` against the first: forward and total speed-ups, and total/forward.
    """
    frames = [image] * batch
    for _ in range(warmup):
        for pipeline in pipelines.values():
            pipeline.run_batch(frames)
    samples = {name: {stage: [] for stage in (*STAGES, "total")} for name in pipelines}
    detections: dict[str, list[int]] = {name: [] for name in pipelines}
    for _ in range(runs):
        for name, pipeline in pipelines.items():
            result = pipeline.run_batch(frames)[0]  # each frame's timings: its share
            for stage in STAGES:
                samples[name][stage].append(result.timings[stage])
            samples[name]["total"].append(sum(result.timings[stage] for stage in STAGES))
            detections[name].append(len(result))
    reports = {
        name: _summary(pipeline, samples[name], detections[name], runs, warmup) | {"batch": batch}
        for name, pipeline in pipelines.items()
    }
    first = next(iter(reports.values()))
    return {**first, "backends": reports, "ratios": _ratios(reports)}


def _summary(
    pipeline: Pipeline,
    samples: dict[str, list[float]],
    detections: list[int],
    runs: int,
    warmup: int,
) -> dict[str, Any]:
    """Median/p90 per stage in ms and FPS from the median total, for one pipeline."""
    stats = {
        stage: {"median_ms": statistics.median(v), "p90_ms": percentile(v, 90)}
        for stage, v in samples.items()
    }
    forward = stats["forward"]["median_ms"]
    overhead = stats["preprocess"]["median_ms"] + stats["postprocess"]["median_ms"]
    return {
        "stages": stats,
        "fps": 1000.0 / stats["total"]["median_ms"],
        "pre_post_share_of_forward": overhead / forward if forward else None,
        "detections_median": statistics.median(detections),
        "runs": runs,
        "warmup": warmup,
        "backend": pipeline.backend_name,
        "provider": pipeline.provider,
        "end_to_end": pipeline.end_to_end,
        "device": pipeline.device,
        "input_size": list(pipeline.input_size),
        "conf_threshold": pipeline.detection.conf_threshold,
        "machine": machine_description(),
    }


def _ratios(reports: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Speed-ups against the first backend (>1: faster) and each one's total / forward."""
    reference = next(iter(reports.values()))["stages"]

    def median(report: dict[str, Any], stage: str) -> float:
        return report["stages"][stage]["median_ms"]

    return {
        "forward_speedup": {
            name: reference["forward"]["median_ms"] / median(r, "forward")
            for name, r in reports.items()
        },
        "total_speedup": {
            name: reference["total"]["median_ms"] / median(r, "total")
            for name, r in reports.items()
        },
        "total_over_forward": {
            name: median(r, "total") / median(r, "forward") for name, r in reports.items()
        },
    }


def machine_description() -> dict[str, Any]:
    """CPU, thread counts, library versions and the load average while measuring."""
    description = {
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_threads": torch.get_num_threads(),
        "load_average_1m": os.getloadavg()[0],
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    try:
        import onnxruntime
    except ImportError:
        return description
    return {**description, "onnxruntime": onnxruntime.__version__}
