"""The node's parameters, derived from the typed settings of hybridnets_core.

`NodeSettings` nests the core settings groups (detection, outputs, ground) with the node's own
(model source, input); the declared parameters, their descriptors and `config/hybridnets.yaml`
all come from it. Read-only parameters are fixed at start; the others may change at run time
(`ros2 param set`), which rebuilds the typed settings once per change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType

from hybridnets_core.errors import ConfigError
from hybridnets_core.outputs.settings import OutputSettings
from hybridnets_core.runtime.backends import BACKENDS
from hybridnets_core.scene.calibration_check import CalibrationCheckSettings
from hybridnets_core.scene.ego_motion import EgoSettings
from hybridnets_core.scene.fusion import FusionSettings
from hybridnets_core.scene.local_map import LocalMapSettings
from hybridnets_core.settings import (
    LIST_ITEMS,
    DetectionSettings,
    Floats,
    Names,
    SettingInfo,
    check_settings,
    described,
    flatten,
    group,
    rebuild,
    setting,
)

INPUT_MODES = ("raw", "compressed")
RELIABILITIES = ("best_effort", "reliable")
DURABILITIES = ("volatile", "transient_local")
MIN_RATE_HZ = 0.01  # max_rate below this (but above 0) would sleep for days between frames
PARAMETER_TYPES = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
    Floats: ParameterType.PARAMETER_DOUBLE_ARRAY,
    Names: ParameterType.PARAMETER_STRING_ARRAY,
}


@dataclass(frozen=True)
class ModelSource:
    """Which network runs where, and what its classes are called (fixed at start)."""

    weights: str = setting(
        "", "Checkpoint or .onnx file; empty = the built-in model.", runtime=False
    )
    backend: str = setting(
        "torch", "torch (checkpoints) or onnxruntime (.onnx).", choices=BACKENDS, runtime=False
    )
    device: str = setting("cpu", "Inference device: cpu, cuda or cuda:N.", runtime=False)
    half: bool = setting(False, "fp16 inference (CUDA only).", runtime=False)
    trt_cache_dir: str = setting(
        "",
        "TensorRT engine cache root (onnxruntime on cuda); empty = $HYBRIDNETS_HOME/tensorrt.",
        runtime=False,
    )
    threads: int = setting(
        0,
        "CPU threads of torch / onnxruntime; 0 = one per core the node may use (its affinity).",
        low=0,
        high=1024,
        runtime=False,
    )
    thread_spin: bool = setting(
        False,
        "Idle inference threads spin for the next frame: a little faster on a CPU of its own, "
        "much slower when other processes need the cores.",
        runtime=False,
    )
    class_names: str = setting(
        "", "Comma-separated class names; empty = from weights.", runtime=False
    )
    project: str = setting("", "Project YAML whose obj_list names the classes.", runtime=False)

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class QosSettings:
    """Quality of service of the image and camera_info subscriptions."""

    reliability: str = setting(
        "best_effort", "Input QoS reliability.", choices=RELIABILITIES, runtime=False
    )
    depth: int = setting(1, "Input QoS history depth.", low=1, high=100, runtime=False)

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class InputSettings:
    """What the node subscribes to and how often it processes a frame."""

    input_mode: str = setting(
        "raw", "Subscribe to image or image/compressed.", choices=INPUT_MODES, runtime=False
    )
    qos: QosSettings = group(QosSettings, "qos.")
    max_rate: float = setting(
        0.0, "Most frames processed per second; 0 = no limit (else >= 0.01).", low=0.0, high=1000.0
    )

    def __post_init__(self) -> None:
        check_settings(self)
        if 0.0 < self.max_rate < MIN_RATE_HZ:
            raise ConfigError(
                f"max_rate must be 0 (no limit) or at least {MIN_RATE_HZ} Hz, got {self.max_rate}"
            )


@dataclass(frozen=True)
class OutputQos:
    """Quality of service of the outputs that differ from the others' (reliable, volatile,
    depth 5): the grid, which map consumers subscribe to transient local."""

    grid_qos: str = setting(
        "transient_local",
        "Durability of ~/grid: transient_local (late subscribers get the latest grids; Nav2's "
        "StaticLayer and RViz's Map display subscribe so, and volatile subscribers still "
        "match) or volatile.",
        choices=DURABILITIES,
        runtime=False,
    )
    local_map_qos: str = setting(
        "transient_local",
        "Durability of ~/local_map: transient_local (a late subscriber gets the latest map, as "
        "Nav2's StaticLayer expects) or volatile.",
        choices=DURABILITIES,
        runtime=False,
    )

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class Behaviour:
    """How the node runs: its lifecycle at start and the work it overlaps or batches."""

    autostart: bool = setting(
        True,
        "Configure and activate at start (ros2 run / launch); false: wait for a lifecycle manager.",
        runtime=False,
    )
    overlap: bool = setting(
        False,
        "Decode and preprocess the next batch and publish the last while the network runs; "
        "unset: true for a cuda device, false on the CPU (where the stages share its cores).",
        runtime=False,
    )
    batch_timeout: float = setting(
        0.05,
        "With several cameras: longest wait (s) for the others once one camera's frame is in.",
        low=0.0,
        high=10.0,
    )

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class NodeSettings:
    """Every parameter of hybridnets_node, typed (per-camera ones in `camera_parameters`)."""

    model: ModelSource = group(ModelSource)
    detection: DetectionSettings = group(DetectionSettings)
    input: InputSettings = group(InputSettings)
    outputs: OutputSettings = group(OutputSettings)
    output_qos: OutputQos = group(OutputQos)
    ego: EgoSettings = group(EgoSettings)
    local_map: LocalMapSettings = group(LocalMapSettings, "local_map.")
    behaviour: Behaviour = group(Behaviour)
    fusion: FusionSettings = group(FusionSettings, "fusion.")
    calibration_check: CalibrationCheckSettings = group(
        CalibrationCheckSettings, "calibration_check."
    )


PARAMETERS: dict[str, tuple[Any, SettingInfo]] = {
    name: (default, info) for name, default, info in described(NodeSettings)
}


def device_defaults(device: str) -> dict[str, Any]:
    """The parameters whose default follows the inference device, with their defaults there:
    `overlap` pays on a GPU, which then never waits for the CPU, but on a CPU the stages
    compete for the same cores and a frame waits longer (docs/measurements.md)."""
    return {"overlap": device.startswith("cuda")}


CAMERAS = "cameras"  # string array
# One unnamed camera on image / camera_info. A set value, so a parameter request that names
# `cameras` (ros2 param dump) is answered; ROS cannot type an empty array as strings.
ONE_CAMERA = ("",)
CAMERAS_DESCRIPTION = (
    "Camera names; each has <name>/image and <name>/camera_info inputs, ~/<name>/... outputs "
    "and <name>.* parameters (defaults: the flat ones). [''] (the default): one camera, no "
    "prefix."
)
CAMERA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def camera_names(value: Any) -> list[str]:
    """The `cameras` parameter as a list of camera names ("" alone: the one unnamed camera);
    ConfigError for an empty name among others, a duplicate or a name that is no ROS token."""
    names = list(value or ONE_CAMERA)
    if names == list(ONE_CAMERA):
        return names
    bad = [name for name in names if not CAMERA_NAME.fullmatch(str(name))]
    if bad or len(set(names)) != len(names):
        raise ConfigError(
            f"cameras {names} must be distinct names of letters, digits and underscores "
            "starting with a letter (or [''] for one unnamed camera)"
        )
    return names


# The output settings a camera may override: every one but the pipeline's mask resolution
CAMERA_SETTINGS = tuple(
    name for name, _, _ in described(OutputSettings) if name != "mask_resolution"
)


def camera_parameters(camera: str) -> dict[str, str]:
    """Parameter name -> the output setting it holds, for one named camera."""
    return {f"{camera}.{name}": name for name in CAMERA_SETTINGS}


def camera_outputs(base: OutputSettings, values: dict[str, Any]) -> OutputSettings:
    """A camera's OutputSettings: its own values (setting name -> value) over `base`."""
    return rebuild(OutputSettings, {**flatten(base), **values})


def descriptor(name: str) -> ParameterDescriptor:
    """The ROS descriptor, so `ros2 param describe` shows the description and range."""
    default, info = PARAMETERS[name]
    desc = ParameterDescriptor(
        name=name,
        type=PARAMETER_TYPES[type(default)],
        description=info.description,
        read_only=not info.runtime,
    )
    if info.choices:
        desc.additional_constraints = "one of: " + ", ".join(info.choices)
    if type(default) in LIST_ITEMS:  # ROS ranges apply to scalars only: the range in words
        if info.low is not None:
            desc.additional_constraints = f"each value within [{info.low:g}, {info.high:g}]"
    elif info.low is not None and isinstance(default, float):
        desc.floating_point_range = [
            FloatingPointRange(from_value=info.low, to_value=info.high, step=0.0)
        ]
    elif info.low is not None:
        desc.integer_range = [
            IntegerRange(from_value=int(info.low), to_value=int(info.high), step=1)
        ]
    return desc


def settings_from(values: dict[str, Any]) -> NodeSettings:
    """Typed settings from parameter values; one-line ConfigError naming the bad parameter."""
    return rebuild(NodeSettings, values)


def parameter_values(settings: NodeSettings) -> dict[str, Any]:
    """Parameter name -> value of typed settings (the inverse of `settings_from`)."""
    return flatten(settings)


def class_names(model: ModelSource, model_names: list[str]) -> list[str]:
    """Names for the model's class ids: class_names, else the project's obj_list, else weights."""
    names = [n.strip() for n in model.class_names.split(",") if n.strip()]
    if not names and model.project:
        from hybridnets_core.data.project import load_project  # the data package needs torch

        names = load_project(model.project).obj_list
    if not names:
        return list(model_names)
    if len(names) != len(model_names):
        raise ConfigError(
            f"{len(names)} class names given but the model has {len(model_names)} classes"
        )
    return names
