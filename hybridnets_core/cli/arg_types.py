"""argparse types that check ranges while parsing, so a bad flag is one usage error (exit 2)
instead of a traceback from deep inside a DataLoader, an optimizer or an allocation.

Each factory returns a function for `add_argument(type=...)`; ready-made ones cover the common
cases. Sizes are bounded by limits.MAX_IMAGE_SIDE.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from ..limits import MAX_IMAGE_SIDE


def int_range(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An integer in [minimum, maximum] (either bound may be open)."""
    wanted = _describe("an integer", minimum, maximum)

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    parse.__name__ = wanted
    return parse


def float_range(
    minimum: float | None = None, maximum: float | None = None, above_minimum: bool = False
) -> Callable[[str], float]:
    """A finite number in [minimum, maximum]; `above_minimum` excludes the minimum itself."""
    low = None if minimum is None else (f"> {minimum:g}" if above_minimum else f">= {minimum:g}")
    wanted = _describe("a finite number", None, maximum, low)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        too_low = minimum is not None and (value <= minimum if above_minimum else value < minimum)
        if not math.isfinite(value) or too_low or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    parse.__name__ = wanted
    return parse


def size_wh(min_side: int = 1, max_side: int = MAX_IMAGE_SIDE) -> Callable[[str], tuple[int, int]]:
    """'WIDTHxHEIGHT' (e.g. 640x384) as (height, width), each side in [min_side, max_side]."""
    wanted = f"WIDTHxHEIGHT such as 640x384, each side {min_side}..{max_side}"

    def parse(text: str) -> tuple[int, int]:
        try:
            width, height = (int(v) for v in text.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if not (min_side <= width <= max_side and min_side <= height <= max_side):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return height, width

    parse.__name__ = "WxH size"
    return parse


def _describe(
    kind: str, minimum: float | None, maximum: float | None, low: str | None = None
) -> str:
    """'an integer >= 1', 'a finite number > 0 and <= 1', ..."""
    bounds = [low] if low else []
    if minimum is not None:
        bounds.append(f">= {minimum:g}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}")
    return " ".join([kind, " and ".join(bounds)]).strip()


positive_int = int_range(1)  # batch sizes, counts of frames, epochs to run, workers of a pool
non_negative_int = int_range(0)  # loader workers, seeds, "0 means never" intervals
positive_finite_float = float_range(0.0, above_minimum=True)  # learning rates, fps, rates
non_negative_finite_float = float_range(0.0)  # waiting times
unit_interval = float_range(0.0, 1.0)  # score and IoU thresholds
image_size = size_wh()  # network inputs and image sizes: 1..MAX_IMAGE_SIDE per side
