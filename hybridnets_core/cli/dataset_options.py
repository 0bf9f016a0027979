"""Options shared by `train`, `val` and `autoanchor`: project file, dataset root, limits."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data import ProjectConfig, load_project
from .arg_types import positive_int
from .options import add_input_size_option


def add_project_options(parser: argparse.ArgumentParser) -> None:
    """-p PROJECT.yaml, --data DIR, --max-images N, --skip-invalid, --input-size WxH."""
    parser.add_argument(
        "-p", "--project", type=Path, required=True, help="project YAML (config/bdd100k.yaml)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder the project's dataset paths are relative to (default: current folder)",
    )
    parser.add_argument(
        "--max-images",
        type=positive_int,
        default=None,
        help="use only the first N frames of each split",
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="use the valid frames when the dataset check finds broken ones (default: stop)",
    )
    add_input_size_option(parser, "the project's model.image_size", aliases=("--image-size",))


def project_from_args(args: argparse.Namespace) -> ProjectConfig:
    return load_project(args.project, args.data)
