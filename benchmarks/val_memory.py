"""Peak memory of `hybridnets val` over N synthetic images at conf 0.001 (the worst case).

A randomly initialised network scores nearly every anchor above 0.001, so with no cap (the
paper protocol, the default here) every image keeps about 37,000 boxes at 640x384. RSS is
sampled while validation runs, to show whether it grows with the number of images.

    python benchmarks/val_memory.py --images 2000 --out benchmarks/results/val_memory.json
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from pathlib import Path

import torch
from machine import machine_info

from hybridnets_core import HybridNets
from hybridnets_core.cli.arg_types import image_size as size_wh
from hybridnets_core.data import ValDataset, checked_samples, load_project
from hybridnets_core.evaluation import evaluate, format_summary
from hybridnets_core.fileio import write_json
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.model.checkpoint import load_model
from hybridnets_core.settings import DetectionSettings
from hybridnets_core.synth import generate_dataset

PROJECT = Path(__file__).resolve().parents[1] / "config" / "synthetic.yaml"
SAMPLE_SECONDS = 0.5


def rss_mib() -> float:
    """Current resident set size of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class RssSampler(threading.Thread):
    """Records (seconds, RSS MiB) every half second until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.start_time = time.perf_counter()

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_SECONDS):
            self.samples.append((time.perf_counter() - self.start_time, rss_mib()))

    def at_fraction(self, fraction: float) -> float:
        """RSS at the given fraction of the run's duration."""
        index = min(int(fraction * len(self.samples)), len(self.samples) - 1)
        return self.samples[index][1] if self.samples else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="validation images (2000)")
    parser.add_argument("--size", type=size_wh, default=(720, 1280), metavar="WxH")
    parser.add_argument("--input-size", type=size_wh, default=(384, 640), metavar="WxH")
    parser.add_argument("--data", type=Path, default=None, help="existing synthetic dataset")
    parser.add_argument("-w", "--weights", default=None, help="checkpoint (default: random coef 0)")
    parser.add_argument("-b", "--batch", type=int, default=4)
    parser.add_argument("-n", "--workers", type=int, default=2)
    parser.add_argument("--max-det", type=int, default=0, help="per-image cap; 0: none (paper)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/val_memory.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        data = args.data or Path(scratch)
        if args.data is None:
            generate_dataset(data, 0, args.images, 0, args.size[::-1], args.workers)
        project = load_project(PROJECT, data)
        if args.weights:
            model, config = load_model(args.weights, input_size=args.input_size)
        else:
            config = project.model_config(0, args.input_size)
            torch.manual_seed(0)
            model = HybridNets.from_config(config)
        samples, _ = checked_samples(project, "val", False, 4, args.images)
        detection = DetectionSettings(0.001, 0.6, args.max_det)
        pipeline = Pipeline.from_model(model, config, device=args.device, detection=detection)
        dataset = ValDataset(samples, pipeline.transform, config.seg_mode == "multiclass")
        sampler = RssSampler()
        start_rss = rss_mib()
        sampler.start()
        started = time.perf_counter()
        evaluation = evaluate(pipeline, dataset, args.batch, args.workers)
        seconds = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
    print(format_summary(evaluation))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "images": len(dataset),
        "image_size": list(args.size[::-1]),
        "input_size": list(config.input_size[::-1]),
        "detections_kept": evaluation.summary["detection"]["detections"],
        "max_det": args.max_det,
        "seconds": round(seconds, 1),
        "rss_mib": {
            "before": round(start_rss, 1),
            "at_25_percent": round(sampler.at_fraction(0.25), 1),
            "at_50_percent": round(sampler.at_fraction(0.5), 1),
            "at_end": round(sampler.at_fraction(1.0), 1),
            "peak_main_process": round(peak, 1),
            "peak_largest_loader_worker": round(children, 1),
        },
        "machine": machine_info(),
    }
    write_json(args.out, result)
    print(result)


if __name__ == "__main__":
    main()
