"""`hybridnets calibrate-bn`: re-estimate BatchNorm statistics of a checkpoint from its data."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigError
from .arg_types import non_negative_int, positive_int
from .dataset_options import add_project_options, project_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate-bn",
        help="re-estimate BatchNorm running statistics from training images",
        description="Writes a checkpoint whose BatchNorm statistics are the average over "
        "--batches training batches; useful after short runs (momentum 0.01 lags).",
    )
    add_project_options(parser)
    parser.add_argument("-w", "--weights", type=Path, required=True, help="checkpoint to fix")
    parser.add_argument("-o", "--out", type=Path, required=True, help="checkpoint to write")
    parser.add_argument("--batches", type=positive_int, default=50, help="batches to average (50)")
    parser.add_argument("-b", "--batch_size", type=positive_int, default=8, help="at least 2 (8)")
    parser.add_argument("-n", "--num_workers", type=non_negative_int, default=2)
    parser.add_argument("--half", action="store_true", help="store tensors as fp16")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch  # torch: imported when the command runs, not when its parser is built

    from ..data import TrainDataset, checked_samples
    from ..inference.transform import ImageTransform
    from ..model.checkpoint import load_model, save_checkpoint
    from ..training.batchnorm import normalised_batches, recalibrate_batchnorm

    if args.batch_size < 2:
        raise ConfigError("--batches must be >= 1 and --batch_size >= 2 (BatchNorm needs a batch)")
    project = project_from_args(args)
    model, config = load_model(args.weights, **project.model_settings(args.input_size))
    split = project.require_paths().train_split
    samples, report = checked_samples(
        project, split, args.skip_invalid, args.num_workers + 1, args.max_images
    )
    print(report.summary())
    transform = ImageTransform.for_config(config)
    dataset = TrainDataset(
        samples, transform, config.seg_mode == "multiclass", project.augment, args.seed
    )
    torch.manual_seed(args.seed)
    batches = normalised_batches(dataset, args.batch_size, args.batches, args.num_workers)
    recalibrate_batchnorm(model, batches)
    save_checkpoint(args.out, model, config, half=args.half)
    print(f"wrote {args.out}: BatchNorm statistics averaged over {args.batches} batches")
    return 0
