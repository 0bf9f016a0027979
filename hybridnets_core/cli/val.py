"""`hybridnets val`: the paper's metrics for a checkpoint on a project's validation split."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data import ValDataset, checked_samples
from ..evaluation import evaluate, format_summary, write_report
from .dataset_options import add_project_options, project_from_args
from .options import add_model_options, scoring_pipeline

DEFAULT_MAX_DET = 100


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `val` subcommand (flag names as in the paper's val.py)."""
    parser = subparsers.add_parser(
        "val", help="detection mAP/recall and segmentation mIoU/IoU/accuracy on a val split"
    )
    add_project_options(parser)
    add_model_options(parser)
    parser.add_argument("-b", "--batch_size", type=int, default=4, help="images per pass (4)")
    parser.add_argument("-n", "--num_workers", type=int, default=2, help="loader processes (2)")
    parser.add_argument("--conf_thres", type=float, default=0.001, help="score threshold (0.001)")
    parser.add_argument("--iou_thres", type=float, default=0.6, help="NMS IoU threshold (0.6)")
    parser.add_argument(
        "--max_det", type=int, default=DEFAULT_MAX_DET, help="detections kept per image (100)"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--half", action="store_true", help="fp16 inference (CUDA/TensorRT only)")
    parser.add_argument(
        "--out", type=Path, default=Path("runs/val"), help="report folder (runs/val)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the headline numbers and write the JSON report and plots."""
    project = project_from_args(args)
    pipeline = scoring_pipeline(
        args.weights,
        args.backend,
        project,
        args.image_size,
        device=args.device,
        half=args.half,
        conf_threshold=args.conf_thres,
        iou_threshold=args.iou_thres,
        max_detections=args.max_det,
    )
    config = pipeline.config
    samples, report = checked_samples(
        project,
        project.require_paths().val_split,
        args.skip_invalid,
        args.num_workers + 1,
        args.max_images,
    )
    print(report.summary())
    dataset = ValDataset(samples, config.input_size, config.seg_mode == "multiclass")
    evaluation = evaluate(pipeline, dataset, args.batch_size, args.num_workers)
    print(format_summary(evaluation))
    for path in write_report(evaluation, config.obj_list, args.out):
        print(f"wrote {path}")
    return 0
