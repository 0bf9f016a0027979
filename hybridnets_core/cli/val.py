"""`hybridnets val`: the paper's metrics for a checkpoint on a project's validation split."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..evaluation import evaluate, format_summary, write_report
from ..settings import EVALUATION_DETECTION
from .arg_types import non_negative_int, positive_int
from .dataset_options import add_project_options, project_from_args
from .options import (
    add_detection_options,
    add_device_options,
    add_model_options,
    add_thread_options,
    detection_from_args,
    scoring_pipeline,
    threads_from_args,
)

VAL_FLAGS = ("--conf_thres", "--iou_thres", "--max_det")  # as the paper's val.py spells them


def add_protocol_option(parser: argparse.ArgumentParser | Any) -> None:
    """--protocol paper|coco: the metric definitions and the thresholds that go with them."""
    parser.add_argument(
        "--protocol",
        choices=tuple(EVALUATION_DETECTION),
        default="paper",
        help="paper: the paper's val.py (conf 0.001, NMS 0.6, every box kept, one-pass "
        "matching, trapezoid AP); coco: COCO-style matching and 101-point AP, 100 boxes per "
        "image (paper)",
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `val` subcommand (flag names as in the paper's val.py)."""
    parser = subparsers.add_parser(
        "val", help="detection mAP/recall and segmentation mIoU/IoU/accuracy on a val split"
    )
    add_project_options(parser)
    add_model_options(parser)
    parser.add_argument(
        "-b", "--batch_size", type=positive_int, default=4, help="images per pass (4)"
    )
    parser.add_argument(
        "-n", "--num_workers", type=non_negative_int, default=2, help="loader processes (2)"
    )
    add_protocol_option(parser)
    add_detection_options(parser, VAL_FLAGS, defaults=None)
    add_device_options(parser)
    add_thread_options(parser)
    parser.add_argument(
        "--out", type=Path, default=Path("runs/val"), help="report folder (runs/val)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the headline numbers and write the JSON report and plots."""
    threads = threads_from_args(args)  # before the datasets import torch
    from ..data import ValDataset, checked_samples

    project = project_from_args(args)
    pipeline = scoring_pipeline(
        args.weights,
        args.backend,
        project,
        args.input_size,
        threads,
        device=args.device,
        half=args.half,
        detection=detection_from_args(args, EVALUATION_DETECTION[args.protocol]),
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
    dataset = ValDataset(samples, pipeline.transform, config.seg_mode == "multiclass")
    evaluation = evaluate(
        pipeline, dataset, args.batch_size, args.num_workers, protocol=args.protocol
    )
    print(format_summary(evaluation))
    for path in write_report(evaluation, config.obj_list, args.out):
        print(f"wrote {path}")
    return 0
