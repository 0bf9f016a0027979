"""`hybridnets autoanchor`: fit anchor scales and ratios to a project's training boxes."""

from __future__ import annotations

import argparse

from ..model.config import MAX_COMPOUND_COEF
from .arg_types import int_range, non_negative_int
from .dataset_options import add_project_options, project_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `autoanchor` subcommand."""
    parser = subparsers.add_parser(
        "autoanchor", help="fit anchors to the training boxes and print the YAML lines"
    )
    add_project_options(parser)
    parser.add_argument(
        "-c", "--compound_coef", type=int_range(0, MAX_COMPOUND_COEF), default=3, help="0..8 (3)"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="search seed (0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the best possible recall before and after, and the YAML lines to paste."""
    from ..training.autoanchor import tune_anchors

    _, report = tune_anchors(
        project_from_args(args),
        args.compound_coef,
        args.input_size,
        args.skip_invalid,
        args.max_images,
        args.seed,
    )
    print(report)
    return 0
