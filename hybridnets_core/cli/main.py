"""Entry point of the `hybridnets` command: dispatch to subcommands, print errors as one line.

Every failure a user can cause ends as `hybridnets COMMAND: error: ...` on stderr and exit code
2: bad flags (argparse), HybridNetsError from the library, and the OSError / MemoryError that
no library call could anticipate (a full disk, a path that became unwritable, an allocation far
beyond the machine). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import HybridNetsError, describe_os_error
from . import (
    autoanchor,
    bag_eval,
    bag_from_images,
    bench,
    calibrate_bn,
    export,
    predict,
    synth,
    synth_bag,
    train,
    trt_build,
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
    bag_from_images,
    bag_eval,
    export,
    trt_build,
)


USAGE_ERROR = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse parser whose usage errors are one line pointing at --help (sub-commands get
    the same class through add_subparsers)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="hybridnets",
        description="HybridNets driving perception: detection, drivable area and lane lines.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def _fail(command: str, message: str) -> int:
    print(f"hybridnets {command}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit code; errors become `hybridnets CMD: error: ...`
    and exit code 2 (usage errors and --help return argparse's code instead of exiting)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    try:
        return int(args.func(args) or 0)
    except HybridNetsError as exc:
        return _fail(args.command, str(exc))
    except OSError as exc:
        return _fail(args.command, describe_os_error(exc))
    except MemoryError:
        return _fail(
            args.command,
            "out of memory; lower the image or input size, the batch size or the number of workers",
        )
    except KeyboardInterrupt:
        print(f"hybridnets {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
