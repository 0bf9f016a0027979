"""Typed settings with one home for every default, range and description.

Each setting is a frozen-dataclass field made by `setting()`: a bool, int, float or str, or a
list of numbers or of strings (`Floats`, `Names`; ROS double and string arrays). Its metadata
validates values in `__post_init__` (`check_settings`) and is what the ROS node declares as
parameters, what the CLI flags take as defaults and help, and what `config/hybridnets.yaml` is
tested against, so none of them can drift from the others.
"""

from __future__ import annotations

import array
import math
import numbers
from collections.abc import Iterable, Iterator
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import numpy as np

from .errors import ConfigError

MASK_RESOLUTIONS = ("source", "network")
NO_CAP = 0  # max_detections: keep every box that survives NMS


class Floats(tuple):
    """A list of numbers as one setting (a ROS double array; a comma-separated flag)."""

    def __new__(cls, values: Iterable[float] = ()) -> Floats:
        return super().__new__(cls, (float(value) for value in values))


class Names(tuple):
    """A list of strings as one setting (a ROS string array; a comma-separated flag)."""

    def __new__(cls, values: Iterable[str] = ()) -> Names:
        return super().__new__(cls, (str(value) for value in values))


LIST_ITEMS: dict[type, type] = {Floats: float, Names: str}  # list kind -> its items' kind
KIND_NAMES = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    Floats: "a list of numbers",
    Names: "a list of strings",
}


@dataclass(frozen=True)
class SettingInfo:
    """What a setting means and accepts; `runtime` ones may change while the node runs."""

    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    runtime: bool = True

    def problem(self, name: str, value: Any, kind: type) -> str | None:
        """Why `value` is not acceptable for the setting `name` of type `kind`, or None."""
        if not _is_kind(value, kind):
            return f"{name} must be {KIND_NAMES[kind]}, got {value!r}"
        if kind in LIST_ITEMS:
            bad = [item for item in kind(value) if self._item_problem(item)]
            return f"{name} values {self._item_problem(bad[0])}" if bad else None
        reason = self._item_problem(kind(value))
        return f"{name} {reason}" if reason else None

    def _item_problem(self, value: Any) -> str | None:
        """Why one value (a scalar setting's, or one item of a list setting's) is out of
        range, as `must be ...`, or None."""
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, got '{value}'"
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be finite, got {value}"
        if self.low is not None and not self.low <= value <= self.high:
            return f"must be within [{self.low:g}, {self.high:g}], got {value}"
        return None


def _is_kind(value: Any, kind: type) -> bool:
    """Whether `value` can stand for a setting of type `kind` (numpy numbers too; an int
    for a float, never a bool for a number; a list, tuple or array of such for a list kind)."""
    if kind in LIST_ITEMS:
        sequences = (list, tuple, np.ndarray, array.array)
        return isinstance(value, sequences) and all(_is_kind(v, LIST_ITEMS[kind]) for v in value)
    if isinstance(value, bool) or kind is bool:
        return isinstance(value, (bool, np.bool_)) and kind is bool
    if kind is float:
        return isinstance(value, numbers.Real)
    if kind is int:
        return isinstance(value, numbers.Integral)
    return isinstance(value, kind)


def setting(
    default: Any,
    description: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] = (),
    runtime: bool = True,
) -> Any:
    """A dataclass field carrying its SettingInfo (use as `name: float = setting(...)`)."""
    info = SettingInfo(description, low, high, choices, runtime)
    return field(default=default, metadata={"setting": info})


def setting_fields(cls: type) -> Iterator[tuple[str, Any, SettingInfo]]:
    """(name, default, info) of every setting of a settings dataclass."""
    for item in fields(cls):
        if "setting" in item.metadata and item.default is not MISSING:
            yield item.name, item.default, item.metadata["setting"]


def check_settings(instance: Any, what: str = "") -> None:
    """Validate every setting of a frozen settings dataclass; ints given for floats become
    floats, lists of a list setting its tuple kind. Raises one ConfigError naming the first
    bad setting (after `what`, e.g. "tracker", where the field name alone is ambiguous)."""
    for name, default, info in setting_fields(type(instance)):
        value = getattr(instance, name)
        reason = info.problem(f"{what} {name}".lstrip(), value, type(default))
        if reason:
            raise ConfigError(reason)
        object.__setattr__(instance, name, type(default)(value))


@dataclass(frozen=True)
class DetectionSettings:
    """Score and IoU thresholds and the per-image cap applied after the forward pass."""

    conf_threshold: float = setting(0.25, "Minimum detection score.", low=0.0, high=1.0)
    iou_threshold: float = setting(
        0.3, "IoU above which class-wise NMS suppresses a box.", low=0.0, high=1.0
    )
    max_detections: int = setting(
        100, "Most detections per image; 0 = no cap.", low=NO_CAP, high=100_000
    )

    def __post_init__(self) -> None:
        check_settings(self)

    @property
    def cap(self) -> int | None:
        """The per-image cap, or None when every box surviving NMS is kept."""
        return None if self.max_detections == NO_CAP else self.max_detections


# The paper's val.py: conf 0.001, NMS IoU 0.6, every box after NMS kept. The COCO-style
# variant keeps the 100 best per image, as COCO's evaluation does.
EVALUATION_DETECTION = {
    "paper": DetectionSettings(conf_threshold=0.001, iou_threshold=0.6, max_detections=NO_CAP),
    "coco": DetectionSettings(conf_threshold=0.001, iou_threshold=0.6, max_detections=100),
}


def flatten(settings: Any, prefix: str = "") -> dict[str, Any]:
    """Setting name -> value of a (nested) settings dataclass; nested groups become dotted
    prefixes, as the node names its parameters (`grid.x_min`)."""
    values: dict[str, Any] = {}
    for item in fields(settings):
        value = getattr(settings, item.name)
        if "group" in item.metadata:
            values.update(flatten(value, f"{prefix}{item.metadata['group']}"))
        elif "setting" in item.metadata:
            values[f"{prefix}{item.name}"] = value
    return values


def group(factory: type, prefix: str = "") -> Any:
    """A nested settings group field; its settings are named `<prefix><field>`."""
    return field(default_factory=factory, metadata={"group": prefix})


def described(cls: type, prefix: str = "") -> Iterator[tuple[str, Any, SettingInfo]]:
    """(dotted name, default, info) of every setting of a (nested) settings class."""
    for item in fields(cls):
        if "group" in item.metadata:
            yield from described(item.default_factory, f"{prefix}{item.metadata['group']}")
        elif "setting" in item.metadata:
            yield f"{prefix}{item.name}", item.default, item.metadata["setting"]


def rebuild(cls: type, values: dict[str, Any], prefix: str = "") -> Any:
    """A (nested) settings object from dotted name -> value; missing names keep their
    defaults. ConfigError (one line, naming the dotted setting) for an invalid value or
    combination; the one validation of node parameters and CLI flags."""
    kwargs: dict[str, Any] = {}
    for item in fields(cls):
        name = f"{prefix}{item.name}"
        if "group" in item.metadata:
            kwargs[item.name] = rebuild(
                item.default_factory, values, f"{prefix}{item.metadata['group']}"
            )
        elif "setting" in item.metadata and name in values:
            reason = item.metadata["setting"].problem(name, values[name], type(item.default))
            if reason:
                raise ConfigError(reason)
            kwargs[item.name] = values[name]
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid settings: {exc}") from None
