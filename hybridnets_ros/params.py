"""The node's parameters: one table of names, defaults, descriptions, ranges and checks.

`config/hybridnets.yaml` documents the same parameters for users; read-only ones are fixed
at start, the others may be changed at run time (`ros2 param set`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType

from hybridnets_core.backends import BACKENDS
from hybridnets_core.data.project import load_project
from hybridnets_core.errors import ConfigError, HybridNetsError
from hybridnets_core.ground import CameraIntrinsics, CameraPose, GridSpec

INPUT_MODES = ("raw", "compressed")
RELIABILITIES = ("best_effort", "reliable")
MASK_RESOLUTIONS = ("source", "network")
PARAMETER_TYPES = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
}


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter: default (fixes the type), description and constraints."""

    name: str
    default: Any
    description: str
    read_only: bool = False
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def descriptor(self) -> ParameterDescriptor:
        """The ROS descriptor, so `ros2 param describe` shows the description and range."""
        desc = ParameterDescriptor(
            name=self.name,
            type=PARAMETER_TYPES[type(self.default)],
            description=self.description,
            read_only=self.read_only,
        )
        if self.choices:
            desc.additional_constraints = "one of: " + ", ".join(self.choices)
        if self.low is not None and isinstance(self.default, float):
            desc.floating_point_range = [
                FloatingPointRange(from_value=self.low, to_value=self.high, step=0.0)
            ]
        elif self.low is not None:
            desc.integer_range = [
                IntegerRange(from_value=int(self.low), to_value=int(self.high), step=1)
            ]
        return desc

    def problem(self, value: Any) -> str | None:
        """Why `value` is not acceptable, or None when it is."""
        if self.choices and value not in self.choices:
            return f"{self.name} must be one of {', '.join(self.choices)}, got '{value}'"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{self.name} must be finite, got {value}"
        if self.low is not None and not self.low <= value <= self.high:
            return f"{self.name} must be within [{self.low}, {self.high}], got {value}"
        return None


ANGLE = math.pi
SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("weights", "", "Checkpoint or .onnx file; empty = the built-in model.", True),
    ParamSpec(
        "backend", "torch", "torch (checkpoints) or onnxruntime (.onnx).", True, choices=BACKENDS
    ),
    ParamSpec("device", "cpu", "Inference device: cpu, cuda or cuda:N.", True),
    ParamSpec("half", False, "fp16 inference (CUDA only).", True),
    ParamSpec("conf_threshold", 0.25, "Minimum detection score.", low=0.0, high=1.0),
    ParamSpec("iou_threshold", 0.3, "IoU above which NMS suppresses a box.", low=0.0, high=1.0),
    ParamSpec("max_detections", 100, "Most detections per image.", low=1, high=10000),
    ParamSpec("class_names", "", "Comma-separated class names; empty = from weights.", True),
    ParamSpec("project", "", "Project YAML whose obj_list names the classes.", True),
    ParamSpec(
        "input_mode", "raw", "Subscribe to image or image/compressed.", True, choices=INPUT_MODES
    ),
    ParamSpec(
        "qos.reliability", "best_effort", "Input QoS reliability.", True, choices=RELIABILITIES
    ),
    ParamSpec("qos.depth", 1, "Input QoS history depth.", True, low=1, high=100),
    ParamSpec(
        "max_rate", 0.0, "Most frames processed per second; 0 = no limit.", low=0.0, high=1000.0
    ),
    ParamSpec(
        "mask_resolution",
        "source",
        "Masks at source or network resolution.",
        True,
        choices=MASK_RESOLUTIONS,
    ),
    ParamSpec("publish_grid", True, "Publish ~/grid (needs intrinsics)."),
    ParamSpec("publish_lane_points", True, "Publish ~/lane_points (needs intrinsics)."),
    ParamSpec("grid_frame", "base_link", "Vehicle frame of ~/grid and ~/lane_points."),
    ParamSpec("grid.resolution", 0.2, "Cell size (m).", low=0.01, high=10.0),
    ParamSpec("grid.x_min", 0.0, "Grid rear edge (m, +x forward).", low=-1000.0, high=1000.0),
    ParamSpec("grid.x_max", 40.0, "Grid front edge (m).", low=-1000.0, high=1000.0),
    ParamSpec("grid.y_min", -10.0, "Grid right edge (m, +y left).", low=-1000.0, high=1000.0),
    ParamSpec("grid.y_max", 10.0, "Grid left edge (m).", low=-1000.0, high=1000.0),
    ParamSpec("camera.x", 0.0, "Camera x in grid_frame (m).", low=-100.0, high=100.0),
    ParamSpec("camera.y", 0.0, "Camera y in grid_frame (m).", low=-100.0, high=100.0),
    ParamSpec("camera.z", 1.5, "Camera height above the ground (m).", low=0.01, high=100.0),
    ParamSpec("camera.roll", 0.0, "Camera roll (rad).", low=-ANGLE, high=ANGLE),
    ParamSpec(
        "camera.pitch", 0.0, "Camera pitch, positive looks down (rad).", low=-ANGLE, high=ANGLE
    ),
    ParamSpec("camera.yaw", 0.0, "Camera yaw, positive looks left (rad).", low=-ANGLE, high=ANGLE),
    ParamSpec("camera.fx", 0.0, "Focal length x (px); 0 = use camera_info.", low=0.0, high=1e6),
    ParamSpec("camera.fy", 0.0, "Focal length y (px); 0 = use camera_info.", low=0.0, high=1e6),
    ParamSpec("camera.cx", 0.0, "Principal point x (px).", low=-1e6, high=1e6),
    ParamSpec("camera.cy", 0.0, "Principal point y (px).", low=-1e6, high=1e6),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


def problem(values: dict[str, Any]) -> str | None:
    """Why this full set of values cannot be used, or None; checks fields and combinations."""
    for name, value in values.items():
        reason = SPEC_BY_NAME[name].problem(value)
        if reason:
            return reason
    try:
        grid_spec(values)
        camera_pose(values)
    except HybridNetsError as exc:
        return str(exc)
    return None


def grid_spec(values: dict[str, Any]) -> GridSpec:
    """GridSpec from the grid.* parameters."""
    return GridSpec(
        x_min=values["grid.x_min"],
        x_max=values["grid.x_max"],
        y_min=values["grid.y_min"],
        y_max=values["grid.y_max"],
        resolution=values["grid.resolution"],
    )


def camera_pose(values: dict[str, Any]) -> CameraPose:
    """CameraPose from the camera.{x,y,z,roll,pitch,yaw} parameters."""
    return CameraPose(*(values[f"camera.{k}"] for k in ("x", "y", "z", "roll", "pitch", "yaw")))


def parameter_intrinsics(
    values: dict[str, Any], width: int, height: int
) -> CameraIntrinsics | None:
    """Intrinsics from camera.f*/c* for an image of this size, or None when fx/fy are unset."""
    if values["camera.fx"] <= 0 or values["camera.fy"] <= 0:
        return None
    return CameraIntrinsics(
        values["camera.fx"],
        values["camera.fy"],
        values["camera.cx"],
        values["camera.cy"],
        width,
        height,
    )


def class_names(values: dict[str, Any], model_names: list[str]) -> list[str]:
    """Names for the model's class ids: class_names, else the project's obj_list, else weights."""
    names = [n.strip() for n in values["class_names"].split(",") if n.strip()]
    if not names and values["project"]:
        names = load_project(values["project"]).obj_list
    if not names:
        return list(model_names)
    if len(names) != len(model_names):
        raise ConfigError(
            f"{len(names)} class names given but the model has {len(model_names)} classes"
        )
    return names
