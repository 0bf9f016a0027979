"""`hybridnets train`: one stage of the paper's recipe, on one device or many via torchrun."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..model.config import MAX_COMPOUND_COEF
from ..settings import EVALUATION_DETECTION, DetectionSettings
from ..training.options import OPTIMIZERS, TrainOptions
from .arg_types import (
    int_range,
    non_negative_int,
    positive_finite_float,
    positive_int,
    unit_interval,
)
from .dataset_options import add_project_options, project_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `train` subcommand (flag names as in the paper's train.py)."""
    parser = subparsers.add_parser(
        "train",
        help="train on a dataset in the HybridNets/BDD100K layout",
        description="Train HybridNets. Multi-GPU/multi-machine: torchrun --nproc_per_node N "
        "$(which hybridnets) train ... (gloo on CPU, nccl on GPU; -b is per process).",
    )
    add_project_options(parser)
    parser.add_argument(
        "-c", "--compound_coef", type=int_range(0, MAX_COMPOUND_COEF), default=3, help="0..8 (3)"
    )
    parser.add_argument(
        "-n", "--num_workers", type=non_negative_int, default=2, help="loader processes (2)"
    )
    parser.add_argument(
        "-b", "--batch_size", type=positive_int, default=12, help="images per step (12)"
    )
    parser.add_argument(
        "-w",
        "--weights",
        "--load_weights",
        default=None,
        help="start weights (.pth, official ones too) or 'last' to resume this run exactly",
    )
    parser.add_argument("--freeze_backbone", action="store_true", help="freeze the encoder")
    parser.add_argument("--freeze_det", action="store_true", help="freeze BiFPN and det heads")
    parser.add_argument("--freeze_seg", action="store_true", help="freeze the seg decoder+head")
    parser.add_argument(
        "--lr", type=positive_finite_float, default=1e-4, help="learning rate (1e-4)"
    )
    parser.add_argument("--optim", choices=OPTIMIZERS, default="adamw", help="optimizer (adamw)")
    parser.add_argument("--num_epochs", type=non_negative_int, default=500, help="last epoch (500)")
    parser.add_argument(
        "--val_interval",
        type=non_negative_int,
        default=1,
        help="validate every N epochs, 0: never (1)",
    )
    parser.add_argument("--amp", action="store_true", help="mixed precision (fp16 GPU, bf16 CPU)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (torchrun: one GPU each)")
    parser.add_argument(
        "--saved_path", type=Path, default=Path("checkpoints"), help="runs folder (checkpoints)"
    )
    parser.add_argument("--name", default=None, help="run name (default: the project name)")
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="data order/augmentation seed (0)"
    )
    parser.add_argument(
        "--conf_thres", type=unit_interval, default=0.001, help="val score threshold"
    )
    parser.add_argument(
        "--iou_thres", type=unit_interval, default=0.6, help="val NMS IoU threshold"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    flags = {"backbone": args.freeze_backbone, "det": args.freeze_det, "seg": args.freeze_seg}
    return TrainOptions(
        project=project_from_args(args),
        compound_coef=args.compound_coef,
        batch_size=args.batch_size,
        workers=args.num_workers,
        weights=args.weights,
        freeze=tuple(name for name, on in flags.items() if on),
        lr=args.lr,
        optim=args.optim,
        num_epochs=args.num_epochs,
        val_interval=args.val_interval,
        amp=args.amp,
        device=args.device,
        saved_path=Path(args.saved_path),
        name=args.name,
        input_size=args.input_size,
        max_images=args.max_images,
        skip_invalid=args.skip_invalid,
        seed=args.seed,
        val=DetectionSettings(
            conf_threshold=args.conf_thres,
            iou_threshold=args.iou_thres,
            max_detections=EVALUATION_DETECTION["paper"].max_detections,
        ),
        progress=not args.no_progress,
    )


def run(args: argparse.Namespace) -> int:
    """Train; the main process prints where checkpoints and logs went."""
    from ..training import (
        distributed,  # torch: imported when the command runs, not when its parser is built
    )
    from ..training.trainer import Trainer

    options = options_from_args(args)
    context = distributed.setup(options.device)
    try:
        trainer = Trainer(options, context)
        rows = trainer.run()
    finally:
        distributed.teardown(context)
    if context.is_main:
        last = rows[-1] if rows else None
        loss = f", final loss {last['loss']:.4f}" if last else " (already at --num_epochs)"
        print(f"trained to epoch {trainer.epoch}{loss}; checkpoints and logs in {trainer.run_dir}")
    return 0
