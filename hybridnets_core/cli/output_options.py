"""The node's output settings as flags (bag-eval mirrors the node), made from the settings.

Defaults, choices and help come from `OutputSettings` and its groups, so an offline replay
with default flags makes what the node makes with default parameters.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..outputs.settings import OutputSettings
from ..scene.ground import CameraPose, GridSpec, PinholeParameters
from ..settings import (
    LIST_ITEMS,
    Floats,
    SettingInfo,
    described,
    flatten,
    rebuild,
    setting_fields,
)


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


def listed(kind: type) -> Callable[[str], tuple[Any, ...]]:
    """argparse type of a list setting: comma-separated values, any number (none: "")."""

    def parse(text: str) -> tuple[Any, ...]:
        items = [item.strip() for item in text.split(",")] if text.strip() else []
        try:
            return kind(items)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated numbers: {text}") from None

    return parse


def _text(value: Any) -> str:
    """A default as its flag takes it (lists comma-separated)."""
    if isinstance(value, Floats):
        return ",".join(f"{item:g}" for item in value)
    return ",".join(value) if type(value) in LIST_ITEMS else str(value)


def _range(info: SettingInfo) -> str:
    """The accepted range for a flag's help ("" for a setting without one)."""
    return "" if info.low is None else f" [{info.low:g}, {info.high:g}]"


def _vector(cls: type) -> tuple[str, tuple[float, ...]]:
    """The comma-separated field names and defaults of a settings group."""
    names, defaults = zip(*((name, default) for name, default, _ in setting_fields(cls)))
    return ",".join(names), tuple(defaults)


VECTOR_FLAGS: dict[str, tuple[type, str]] = {
    "--camera-pose": (CameraPose, "camera."),
    "--grid": (GridSpec, "grid."),
    "--intrinsics": (PinholeParameters, "camera."),
}
VECTOR_SETTINGS = {
    f"{prefix}{name}" for cls, prefix in VECTOR_FLAGS.values() for name, _, _ in setting_fields(cls)
}


def _flag(name: str) -> str:
    """The flag of a dotted setting name: camera.info_tolerance -> --camera-info-tolerance."""
    return "--" + name.replace(".", "-").replace("_", "-")


def add_output_options(parser: argparse.ArgumentParser | Any) -> None:
    """One flag per output setting (--mask-resolution, --[no-]publish-grid, --grid-frame,
    --[no-]camera-rectified, --camera-info-tolerance, --lanes-max-range-m,
    --objects-prior-heights-m 1.5,3,..., ...), plus the vector flags
    --camera-pose X,Y,Z,ROLL,PITCH,YAW, --grid X_MIN,...,RESOLUTION and --intrinsics FX,FY,CX,CY
    (used while no valid camera_info was seen); defaults and help from the settings."""
    for name, default, info in described(OutputSettings):
        if name in VECTOR_SETTINGS:
            continue
        if isinstance(default, bool):
            parser.add_argument(
                _flag(name), action=argparse.BooleanOptionalAction, default=default,
                help=info.description,
            )  # fmt: skip
        else:
            kind = type(default)
            parser.add_argument(
                _flag(name),
                type=listed(kind) if kind in LIST_ITEMS else kind,
                choices=info.choices or None,
                default=default,
                metavar="A,B,..." if kind in LIST_ITEMS else None,
                help=f"{info.description}{_range(info)} ({_text(default)})",
            )
    for flag, (cls, _) in VECTOR_FLAGS.items():
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
    values = {
        name: getattr(args, _flag(name)[2:].replace("-", "_"))
        for name, _, _ in described(OutputSettings)
        if name not in VECTOR_SETTINGS
    }
    for flag, (cls, prefix) in VECTOR_FLAGS.items():
        given = getattr(args, flag[2:].replace("-", "_"))
        names = [name for name, _, _ in setting_fields(cls)]
        values.update({f"{prefix}{name}": value for name, value in zip(names, given)})
    return rebuild(OutputSettings, values)


def changed_output_flags(args: argparse.Namespace) -> list[str]:
    """The `add_output_options` flags whose values differ from the settings' defaults."""
    given, defaults = flatten(output_settings_from_args(args)), flatten(OutputSettings())
    changed = {name for name, value in given.items() if value != defaults[name]}
    flags = [_flag(name) for name in sorted(changed - VECTOR_SETTINGS)]
    for flag, (cls, prefix) in VECTOR_FLAGS.items():
        if any(f"{prefix}{name}" in changed for name, _, _ in setting_fields(cls)):
            flags.append(flag)
    return flags
