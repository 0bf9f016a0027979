"""`hybridnets export`: checkpoint -> .onnx + anchors .npy, written atomically."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from ..errors import ConfigError
from ..fileio import write_bytes_atomic
from ..inference.transform import ImageTransform
from ..model import HybridNets
from ..model.anchors import anchors_for
from ..model.config import ModelConfig
from ..native import library_path, require_library
from ..runtime.onnx_format import OnnxInfo, set_properties
from .defaults import DEFAULT_CALIB_IMAGES, DEFAULT_OPSET
from .end2end import MIN_OPSET, append_postprocess
from .half import to_half
from .native_folds import fold_native_ops
from .ort_optimize import optimize_for_cpu
from .quantize import (
    CALIBRATION_METHODS,
    DEFAULT_CALIB_METHOD,
    DEFAULT_FLOAT_MODULES,
    calibration_images,
    quantize_int8,
)
from .raw import export_raw
from .uint8_input import take_uint8_input

MAX_OPSET = 20  # the highest opset torch's TorchScript-based exporter writes


@dataclass
class ExportOptions:
    """What to export: input size (H, W), graph kind, precision, batch axis, opset and
    input type (normalised float NCHW, or uint8 NHWC frames normalised in the graph)."""

    input_size: tuple[int, int]
    end2end: bool = False
    half: bool = False
    dynamic_batch: bool = False
    batch_size: int = 1  # fixed batch of the graph (e.g. the camera count); 1 with dynamic_batch
    opset: int = DEFAULT_OPSET
    int8: bool = False
    calib: Path | None = None
    calib_images: int = DEFAULT_CALIB_IMAGES
    calib_method: str = DEFAULT_CALIB_METHOD
    int8_float: tuple[str, ...] = DEFAULT_FLOAT_MODULES
    native_ops: bool | None = None  # INT8 with our native ops; None: when they are built
    uint8_input: bool = False  # uint8 NHWC RGB frames in, normalised inside the graph

    @property
    def precision(self) -> str:
        return "int8" if self.int8 else "fp16" if self.half else "fp32"

    @property
    def uses_native_ops(self) -> bool:
        """Whether the INT8 graph gets our native ops: asked for, or built and not refused."""
        if not self.int8 or self.native_ops is False:
            return False
        return self.native_ops or library_path() is not None

    def validate(self) -> None:
        """ConfigError for option combinations no export can satisfy."""
        if not MIN_OPSET <= self.opset <= MAX_OPSET:
            raise ConfigError(
                f"opset {self.opset} is not supported; use {MIN_OPSET}..{MAX_OPSET} "
                f"(default {DEFAULT_OPSET})"
            )
        if self.batch_size < 1 or (self.dynamic_batch and self.batch_size != 1):
            raise ConfigError(
                f"--batch {self.batch_size}: a fixed batch is at least 1 and excludes "
                "--dynamic-batch (which takes any batch)"
            )
        if self.int8 and self.half:
            raise ConfigError("--int8 and --half exclude each other; pick one precision")
        if self.int8 and self.calib is None:
            raise ConfigError("--int8 needs --calib DATASET_OR_IMAGES to calibrate on")
        if self.calib is not None and not self.int8:
            raise ConfigError("--calib is only used with --int8")
        if self.int8_float and not self.int8:
            raise ConfigError("--int8-float is only used with --int8")
        if self.native_ops is not None and not self.int8:
            raise ConfigError("--native-ops/--no-native-ops is only used with --int8")
        if self.native_ops:
            require_library()
        if self.calib_method not in CALIBRATION_METHODS:
            raise ConfigError(
                f"calib_method {self.calib_method!r} is unknown; use one of "
                f"{', '.join(CALIBRATION_METHODS)}"
            )


@dataclass
class ExportResult:
    """The files written and what they hold."""

    onnx_path: Path
    anchors_path: Path
    info: OnnxInfo


def default_output(weights: str | Path | None, options: ExportOptions) -> Path:
    """exports/<weights stem>_<W>x<H>[_end2end][_fp16|_int8][_uint8in].onnx"""
    stem = Path(weights).stem if weights else "hybridnets"
    height, width = options.input_size
    parts = [stem, f"{width}x{height}"]
    if options.end2end:
        parts.append("end2end")
    if options.precision != "fp32":
        parts.append(options.precision)
    if options.uint8_input:
        parts.append("uint8in")
    return Path("exports") / f"{'_'.join(parts)}.onnx"


def export_model(
    model: HybridNets, config: ModelConfig, output: Path, options: ExportOptions
) -> ExportResult:
    """Export `model` at options.input_size; INT8 calibrates on images the Pipeline's way."""
    options.validate()
    if output.suffix.lower() != ".onnx":
        raise ConfigError(f"output {output} must end in .onnx")
    config = ModelConfig.from_dict({**config.to_dict(), "input_size": list(options.input_size)})
    graph = export_raw(
        model, config.input_size, options.opset, options.dynamic_batch, options.batch_size
    )
    if options.int8:
        images = calibration_images(options.calib, options.calib_images)
        transform = ImageTransform.for_config(config)

        def preprocess(batch: list[np.ndarray]) -> np.ndarray:
            """Letterbox + normalise as inference does; repeated to the graph's fixed batch."""
            inputs = transform.batch(batch, "bgr")[0]
            return np.repeat(inputs, options.batch_size, axis=0)

        graph = quantize_int8(graph, images, preprocess, options.calib_method, options.int8_float)
    if options.half:
        graph = to_half(graph)
    if options.end2end:
        graph = append_postprocess(graph, config)
    if options.int8:
        graph = optimize_for_cpu(graph)
    if options.uses_native_ops:
        fold_native_ops(graph)
    if options.uint8_input:  # last: the folds and optimisations above see the float network
        take_uint8_input(graph, ImageTransform.for_config(config))
    info = OnnxInfo(
        config=config,
        graph="end2end" if options.end2end else "raw",
        precision=options.precision,
        dynamic_batch=options.dynamic_batch,
        batch_size=options.batch_size,
        uint8_input=options.uint8_input,
    )
    set_properties(graph, info.to_properties())
    graph.producer_name = "hybridnets_ros"
    onnx.checker.check_model(graph, full_check=True)
    write_bytes_atomic(output, graph.SerializeToString())
    height, width = config.input_size
    anchors_path = output.parent / f"anchor_{height}_{width}.npy"
    write_bytes_atomic(anchors_path, _npy_bytes(_official_anchors(config)))
    return ExportResult(output, anchors_path, info)


def _official_anchors(config: ModelConfig) -> np.ndarray:
    """Anchors [1, N, 4] (y1, x1, y2, x2) pixels, the layout the official export saves."""
    return anchors_for(config)[None]


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
