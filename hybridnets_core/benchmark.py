"""Pipeline benchmark: per-stage latency statistics over repeated runs on one frame."""

from __future__ import annotations

import platform
import statistics
from typing import Any

import numpy as np
import torch

from .pipeline import Pipeline

STAGES = ("preprocess", "forward", "postprocess")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def benchmark_pipeline(
    pipeline: Pipeline, image: np.ndarray, runs: int, warmup: int
) -> dict[str, Any]:
    """Run the pipeline `warmup + runs` times; median/p90 per stage in ms, FPS from the median."""
    for _ in range(warmup):
        pipeline(image)
    samples: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
    detections = []
    for _ in range(runs):
        result = pipeline(image)
        for stage in STAGES:
            samples[stage].append(result.timings[stage])
        samples["total"].append(sum(result.timings[stage] for stage in STAGES))
        detections.append(len(result))
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
        "device": pipeline.device,
        "input_size": list(pipeline.input_size),
        "conf_threshold": pipeline.conf_threshold,
        "machine": machine_description(),
    }


def machine_description() -> dict[str, Any]:
    return {
        "processor": platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
