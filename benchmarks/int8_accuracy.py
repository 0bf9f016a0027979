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
import time
from pathlib import Path

from hybridnets_core.checkpoint import load_model
from hybridnets_core.data import ValDataset, checked_samples, load_project
from hybridnets_core.evaluation import evaluate
from hybridnets_core.export.exporter import ExportOptions, export_model
from hybridnets_core.pipeline import Pipeline
from hybridnets_core.synth import generate_dataset

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "config" / "synthetic.yaml"
EVAL_CONF, EVAL_IOU = 0.001, 0.6


def forward_ms(pipeline: Pipeline, dataset: ValDataset, runs: int) -> float:
    """Median forward time over the first frame, after one warm-up run."""
    batch, _ = pipeline.preprocess([dataset[0].image], "bgr")
    pipeline.forward(batch)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        pipeline.forward(batch)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="checkpoint (default: built-in model)")
    parser.add_argument("--data", type=Path, required=True, help="synthetic dataset folder")
    parser.add_argument("--train", type=int, default=32, help="frames to generate if missing")
    parser.add_argument("--val", type=int, default=32, help="held-out frames if generating")
    parser.add_argument("--size", type=int, nargs=2, default=(384, 640), metavar=("H", "W"))
    parser.add_argument("--runs", type=int, default=10, help="timed forwards per model")
    parser.add_argument("--out", type=Path, default=Path("int8_accuracy.json"))
    args = parser.parse_args()
    if not (args.data / "imgs" / "val").is_dir():
        generate_dataset(args.data, train=args.train, val=args.val, seed=0)
    project = load_project(PROJECT, args.data)
    model, config = load_model(args.weights, input_size=tuple(args.size))
    samples, _ = checked_samples(project, project.paths.val_split, skip_invalid=False)
    dataset = ValDataset(samples, config.input_size, config.seg_mode == "multiclass")
    report: dict = {"weights": str(args.weights or "default"), "val_frames": len(dataset)}
    folder = args.out.parent / f"{args.out.stem}_models"
    for name, int8 in (("fp32", False), ("int8", True)):
        options = ExportOptions(tuple(args.size), int8=int8, calib=args.data if int8 else None)
        path = export_model(model, config, folder / f"{name}.onnx", options).onnx_path
        pipeline = Pipeline.from_weights(
            path, backend="onnxruntime", conf_threshold=EVAL_CONF, iou_threshold=EVAL_IOU
        )
        summary = evaluate(pipeline, dataset, batch_size=1, progress=False).summary
        report[name] = {
            "mAP50": summary["detection"]["mAP50"],
            "drivable_miou": summary["segmentation"]["paper"].get("drivable_miou"),
            "lane_iou": summary["segmentation"]["paper"].get("lane_iou"),
            "forward_median_ms": forward_ms(pipeline, dataset, args.runs),
        }
        print(name, report[name], flush=True)
    report["speedup"] = report["fp32"]["forward_median_ms"] / report["int8"]["forward_median_ms"]
    for key in ("mAP50", "drivable_miou"):
        report[f"{key}_points_lost"] = 100 * (report["fp32"][key] - report["int8"][key])
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k not in ("fp32", "int8")}))


if __name__ == "__main__":
    main()
