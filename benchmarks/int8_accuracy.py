"""INT8 against fp32 ONNX Runtime on held-out synthetic scenes: mAP50 and drivable mIoU.

Exports the checkpoint twice (fp32, and INT8 calibrated on the train split), evaluates both
through the Pipeline on the val split with the paper's protocol, and times both forwards.
Writes everything as JSON.

  python benchmarks/int8_accuracy.py --weights W.pth --data /tmp/synth --out int8.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from machine import machine_info

from hybridnets_core.data import ValDataset, checked_samples, load_project
from hybridnets_core.evaluation import evaluate
from hybridnets_core.export.exporter import DEFAULT_CALIB_IMAGES, ExportOptions, export_model
from hybridnets_core.export.quantize import (
    CALIBRATION_METHODS,
    DEFAULT_CALIB_METHOD,
    DEFAULT_FLOAT_MODULES,
)
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.inference.transform import ImageTransform
from hybridnets_core.model.checkpoint import load_model
from hybridnets_core.settings import EVALUATION_DETECTION
from hybridnets_core.synth import generate_dataset

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "config" / "synthetic.yaml"


def forward_ms(pipelines: dict[str, Pipeline], dataset: ValDataset, runs: int) -> dict:
    """Median forward time per pipeline on the first frame, runs interleaved so load changes
    hit every pipeline alike; one warm-up run each."""
    batch, _ = next(iter(pipelines.values())).transform.batch([dataset[0].image], "bgr")
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    for pipeline in pipelines.values():
        pipeline.runtime.network(batch)
    for _ in range(runs):
        for name, pipeline in pipelines.items():
            start = time.perf_counter()
            pipeline.runtime.network(batch)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="checkpoint (default: built-in model)")
    parser.add_argument("--data", type=Path, required=True, help="synthetic dataset folder")
    parser.add_argument("--train", type=int, default=32, help="frames to generate if missing")
    parser.add_argument("--val", type=int, default=32, help="held-out frames if generating")
    parser.add_argument("--size", type=int, nargs=2, default=(384, 640), metavar=("H", "W"))
    parser.add_argument("--runs", type=int, default=10, help="timed forwards per model")
    parser.add_argument("--calib-method", choices=CALIBRATION_METHODS, default=DEFAULT_CALIB_METHOD)
    parser.add_argument("--int8-float", nargs="*", default=list(DEFAULT_FLOAT_MODULES))
    parser.add_argument("--calib-images", type=int, default=DEFAULT_CALIB_IMAGES)
    parser.add_argument(
        "--native-ops",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="INT8 with our native ops (default: when built)",
    )
    parser.add_argument("--out", type=Path, default=Path("int8_accuracy.json"))
    args = parser.parse_args()
    if not (args.data / "imgs" / "val").is_dir():
        generate_dataset(args.data, train=args.train, val=args.val, seed=0)
    project = load_project(PROJECT, args.data)
    model, config = load_model(args.weights, input_size=tuple(args.size))
    samples, _ = checked_samples(project, project.paths.val_split, skip_invalid=False)
    transform = ImageTransform.for_config(config)
    dataset = ValDataset(samples, transform, config.seg_mode == "multiclass")
    report: dict = {
        "weights": str(args.weights or "default"),
        "val_frames": len(dataset),
        "calib_method": args.calib_method,
        "int8_float": args.int8_float,
        "calib_images": args.calib_images,
    }
    fp32 = ExportOptions(tuple(args.size))
    int8 = ExportOptions(
        tuple(args.size),
        int8=True,
        calib=args.data,
        calib_images=args.calib_images,
        calib_method=args.calib_method,
        int8_float=tuple(args.int8_float),
        native_ops=args.native_ops,
    )
    report["native_ops"] = int8.uses_native_ops
    pipelines = {}
    with tempfile.TemporaryDirectory(prefix="int8_accuracy_") as scratch:
        for name, options in (("fp32", fp32), ("int8", int8)):
            path = export_model(model, config, Path(scratch) / f"{name}.onnx", options).onnx_path
            pipelines[name] = Pipeline.from_weights(
                path, backend="onnxruntime", detection=EVALUATION_DETECTION["paper"]
            )
            summary = evaluate(pipelines[name], dataset, batch_size=1, progress=False).summary
            report[name] = {
                "mAP50": summary["detection"]["mAP50"],
                "drivable_miou": summary["segmentation"]["paper"].get("drivable_miou"),
                "lane_iou": summary["segmentation"]["paper"].get("lane_iou"),
            }
            print(name, report[name], flush=True)
    for name, milliseconds in forward_ms(pipelines, dataset, args.runs).items():
        report[name]["forward_median_ms"] = milliseconds
    report["speedup"] = report["fp32"]["forward_median_ms"] / report["int8"]["forward_median_ms"]
    for key in ("mAP50", "drivable_miou", "lane_iou"):
        report[f"{key}_points_lost"] = 100 * (report["fp32"][key] - report["int8"][key])
    report["input_size"] = list(config.input_size)
    report["machine"] = machine_info()
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k not in ("fp32", "int8")}))


if __name__ == "__main__":
    main()
