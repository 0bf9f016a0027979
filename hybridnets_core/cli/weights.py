"""`hybridnets weights`: download the official checkpoint, or describe a weights file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import CheckpointError
from ..model.weights import OFFICIAL_URL, cached_official_weights, download, sha256_of


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("weights", help="download or inspect weights files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = actions.add_parser("download", help="fetch the official hybridnets.pth into the cache")
    fetch.add_argument("--url", default=OFFICIAL_URL)
    fetch.add_argument("--dest", type=Path, default=None, help="default: the cache folder")
    fetch.add_argument("--sha256", default=None, help="expected SHA-256 of the file")
    fetch.add_argument("--force", action="store_true", help="download even if present")
    fetch.set_defaults(func=run_download)
    info = actions.add_parser("info", help="print what a weights file contains")
    info.add_argument("path", type=Path)
    info.set_defaults(func=run_info)
    slim = actions.add_parser(
        "slim", help="keep only weights and config (no optimizer state), for shipping"
    )
    slim.add_argument("source", type=Path, help="a training checkpoint or official weights")
    slim.add_argument("dest", type=Path)
    slim.add_argument("--half", action="store_true", help="store tensors as fp16 (half size)")
    slim.set_defaults(func=run_slim)


def describe(path: Path) -> str:
    """Load the file strictly and summarise its network; raises CheckpointError if it can't."""
    from ..model.checkpoint import (
        load_model,  # torch: imported when the command runs, not when its parser is built
    )

    model, config = load_model(path)
    parameters = sum(p.numel() for p in model.parameters())
    return (
        f"{path}: HybridNets coef {config.compound_coef}, classes {config.obj_list}, "
        f"seg {config.seg_list} ({config.seg_mode}), input {config.input_size[1]}x"
        f"{config.input_size[0]}, {parameters:,} parameters, sha256 {sha256_of(path)}"
    )


def run_download(args: argparse.Namespace) -> int:
    destination = args.dest or cached_official_weights()
    if destination.is_file() and not args.force:
        print(f"already present: {describe(destination)}")
        return 0
    download(args.url, destination, expected_sha256=args.sha256)
    try:
        print(f"saved {describe(destination)}")
    except CheckpointError:
        destination.unlink()
        raise
    return 0


def run_slim(args: argparse.Namespace) -> int:
    from ..model.checkpoint import load_model, save_checkpoint

    model, config = load_model(args.source)
    save_checkpoint(args.dest, model, config, half=args.half)
    print(f"wrote {describe(args.dest)}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    print(describe(args.path))
    return 0
