"""`hybridnets synth`: write a synthetic driving dataset in the HybridNets/BDD100K layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..synth import generate_dataset
from ..synth.writer import MIN_SIDE
from .arg_types import non_negative_int, positive_int, size_wh


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `synth` subcommand."""
    parser = subparsers.add_parser(
        "synth", help="generate synthetic dashcam scenes with boxes, drivable and lane masks"
    )
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    parser.add_argument(
        "--train", type=non_negative_int, default=1000, help="training images (1000)"
    )
    parser.add_argument("--val", type=non_negative_int, default=200, help="validation images (200)")
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="same seed, same dataset (0)"
    )
    parser.add_argument(
        "--size",
        type=size_wh(MIN_SIDE),
        default=(720, 1280),
        metavar="WxH",
        help="image size (1280x720)",
    )
    parser.add_argument("--workers", type=positive_int, default=1, help="parallel processes (1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate the dataset and say where it is."""
    height, width = args.size
    generate_dataset(args.out, args.train, args.val, args.seed, (width, height), args.workers)
    print(f"wrote {args.train} train + {args.val} val images of {width}x{height} to {args.out}")
    return 0
