"""Static INT8 quantization with ONNX Runtime's tools, calibrated on real images."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from ..errors import ConfigError, InputError
from ..fileio import scratch_folder
from ..media import list_images, read_image
from ..runtime.onnx_format import INPUT_NAME
from .defaults import CALIBRATION_METHODS as CALIBRATION_METHODS  # re-exported
from .defaults import DEFAULT_CALIB_METHOD, DEFAULT_FLOAT_MODULES

DATASET_IMAGES = Path("imgs") / "train"

Preprocess = Callable[[list[np.ndarray]], np.ndarray]


def calibration_images(source: Path, count: int) -> list[Path]:
    """`count` images spread over a folder of images or a dataset's imgs/train split."""
    if count < 1:
        raise InputError(f"--calib-images must be at least 1, got {count}")
    folder = source / DATASET_IMAGES if (source / DATASET_IMAGES).is_dir() else source
    if not folder.is_dir():
        raise InputError(
            f"calibration source {source} is not a folder; pass a folder of images or a "
            "dataset root with imgs/train"
        )
    images = list_images(folder)
    if not images:
        raise InputError(f"no calibration images in {folder}; pass a folder of .jpg/.png files")
    picks = np.linspace(0, len(images) - 1, min(count, len(images))).round().astype(int)
    return [images[i] for i in sorted(set(picks.tolist()))]


class ImageCalibrationReader(CalibrationDataReader):
    """Feeds one preprocessed image at a time, exactly as the Pipeline would.

    `set_range` lets ONNX Runtime calibrate in strides, so only one stride's activations are
    held in memory at a time (histograms and ranges merge across strides).
    """

    def __init__(self, paths: list[Path], preprocess: Preprocess) -> None:
        self.paths = paths
        self.preprocess = preprocess
        self.set_range(0, len(paths))

    def __len__(self) -> int:
        return len(self.paths)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._feeds: Iterator[dict[str, np.ndarray]] = (
            {INPUT_NAME: self.preprocess([read_image(path)])}
            for path in self.paths[start_index:end_index]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def float_nodes(model: onnx.ModelProto, modules: Sequence[str]) -> list[str]:
    """Names of the nodes exported from the given top-level modules (e.g. segmentation_head)."""
    known = {node.name.split("/")[1] for node in model.graph.node if node.name.count("/") > 1}
    unknown = sorted(set(modules) - known)
    if unknown:
        raise ConfigError(
            f"--int8-float: no module {', '.join(unknown)} in this network; "
            f"choose from {', '.join(sorted(known))}"
        )
    prefixes = tuple(f"/{module}/" for module in modules)
    return [node.name for node in model.graph.node if node.name.startswith(prefixes)]


@contextlib.contextmanager
def _temporary_files_in(folder: Path) -> Iterator[None]:
    """Point Python's temporary folder into `folder` for the block: ONNX Runtime's tools make
    their own temporary folders (pre.quant.*, ort.quant.*), which a killed export would leave
    in $TMPDIR; inside our scratch folder they go with it. Process-wide, so for the export
    command, not for a process with other threads writing temporary files."""
    saved = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = saved


def quantize_int8(
    model: onnx.ModelProto,
    images: list[Path],
    preprocess: Preprocess,
    method: str = DEFAULT_CALIB_METHOD,
    float_modules: Sequence[str] = DEFAULT_FLOAT_MODULES,
) -> onnx.ModelProto:
    """QDQ INT8 (uint8 activations, per-channel int8 weights: fast with AVX-512 VNNI).

    The graph is shape-inferred and optimised first, as ONNX Runtime recommends; nodes of
    `float_modules` stay in float; calibration runs one image per stride (bounded memory).
    `method` is one of CALIBRATION_METHODS (ExportOptions.validate checks it). The working
    models (up to ~60 MB) go to a scratch folder that a killed export's successor removes.
    """
    calibrate_method = next(m for m in CalibrationMethod if m.name.lower() == method)
    with scratch_folder("hybridnets_int8") as work, _temporary_files_in(work):
        onnx.save(model, work / "fp32.onnx")
        quant_pre_process(work / "fp32.onnx", work / "prepared.onnx", skip_symbolic_shape=True)
        with contextlib.redirect_stdout(io.StringIO()):  # ORT prints a line per stride
            quantize_static(
                work / "prepared.onnx",
                work / "int8.onnx",
                ImageCalibrationReader(images, preprocess),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=calibrate_method,
                nodes_to_exclude=float_nodes(model, float_modules),
                # asymmetric percentiles suit uint8 activations and, unlike ORT's symmetric
                # default, do not fail on near-constant tensors (sigmoid of near-zero inputs)
                extra_options={"CalibStridedMinMax": 1, "CalibTensorRangeSymmetric": False},
            )
        return onnx.load(work / "int8.onnx")
