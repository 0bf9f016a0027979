"""The node's output settings as flags (bag-eval mirrors the node), made from the settings.

Defaults, choices and help come from `OutputSettings` and its groups, so an offline replay
with default flags makes what the node makes with default parameters.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from ..ground import CameraPose, GridSpec, PinholeParameters
from ..outputs.settings import GroundSettings, OutputSettings
from ..settings import setting_fields


def floats(count: int, what: str) -> Callable[[str], tuple[float, ...]]:
    """argparse type: `count` comma-separated numbers."""

    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(v) for v in text.split(","))
        except ValueError:
            values = ()
        if len(values) != count:
            raise argparse.ArgumentTypeError(f"expected {count} comma-separated numbers: {what}")
        return values

    return parse


def _vector(cls: type) -> tuple[str, tuple[float, ...]]:
    """The comma-separated field names and defaults of a settings group."""
    names, defaults = zip(*((name, default) for name, default, _ in setting_fields(cls)))
    return ",".join(names), tuple(defaults)


VECTOR_FLAGS: dict[str, type] = {
    "--camera-pose": CameraPose,
    "--grid": GridSpec,
    "--intrinsics": PinholeParameters,
}


def add_output_options(parser: argparse.ArgumentParser | Any) -> None:
    """--mask-resolution, --[no-]publish-grid, --[no-]publish-lane-points, --grid-frame and the
    vector flags --camera-pose X,Y,Z,ROLL,PITCH,YAW, --grid X_MIN,...,RESOLUTION and
    --intrinsics FX,FY,CX,CY (used while no valid camera_info was seen)."""
    for name, default, info in setting_fields(OutputSettings):
        flag = f"--{name.replace('_', '-')}"
        if isinstance(default, bool):
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=default, help=info.description
            )
        else:
            parser.add_argument(
                flag,
                choices=info.choices or None,
                default=default,
                help=f"{info.description} ({default})",
            )
    for name, default, info in setting_fields(GroundSettings):
        parser.add_argument(
            f"--{name.replace('_', '-')}", default=default, help=f"{info.description} ({default})"
        )
    for flag, cls in VECTOR_FLAGS.items():
        names, values = _vector(cls)
        parser.add_argument(
            flag,
            type=floats(len(values), names),
            default=values,
            metavar=names.upper(),
            help=f"{cls.__doc__.splitlines()[0]} ({','.join(f'{v:g}' for v in values)})",
        )


def output_settings_from_args(args: argparse.Namespace) -> OutputSettings:
    """The OutputSettings the `add_output_options` flags describe (validated)."""
    groups = {
        cls: cls(
            **dict(zip((f.name for f in fields(cls)), getattr(args, flag[2:].replace("-", "_"))))
        )
        for flag, cls in VECTOR_FLAGS.items()
    }
    ground = GroundSettings(
        grid_frame=args.grid_frame,
        grid=groups[GridSpec],
        camera=groups[CameraPose],
        intrinsics=groups[PinholeParameters],
    )
    return OutputSettings(
        mask_resolution=args.mask_resolution,
        publish_grid=args.publish_grid,
        publish_lane_points=args.publish_lane_points,
        ground=ground,
    )
