"""Entry point of the `hybridnets` command: dispatch to subcommands, print errors as one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import HybridNetsError
from . import (
    autoanchor,
    bag_eval,
    bench,
    calibrate_bn,
    export,
    predict,
    synth,
    synth_bag,
    train,
    val,
    weights,
)

COMMANDS = (
    predict,
    bench,
    weights,
    synth,
    train,
    val,
    calibrate_bn,
    autoanchor,
    synth_bag,
    bag_eval,
    export,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybridnets",
        description="HybridNets driving perception: detection, drivable area and lane lines.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; HybridNetsError becomes `hybridnets CMD: error: ...` and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HybridNetsError as exc:
        print(f"hybridnets {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hybridnets {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
