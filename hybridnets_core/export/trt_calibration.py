"""INT8 calibration table for TensorRT: activation ranges of an fp32 export, measured on CPU.

ONNX Runtime's TensorRT provider builds INT8 engines from a table of each tensor's range
(`calibration.flatbuffers`, named by the provider option trt_int8_calibration_table_name). The
ranges are collected here with ONNX Runtime's calibrator on the CPU, one image at a time,
preprocessed exactly as the Pipeline does, so the table can be made anywhere and shipped.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
from onnxruntime.quantization.calibrate import (
    CalibrationDataReader,
    CalibrationMethod,
    create_calibrator,
)
from onnxruntime.quantization.quant_utils import write_calibration_table

from ..errors import ConfigError
from ..fileio import scratch_folder
from ..inference.transform import ImageTransform
from ..runtime.onnx_format import THRESHOLD_INPUTS, OnnxInfo
from ..runtime.onnx_runtime import read_info
from ..runtime.tensorrt import CALIBRATION_TABLE
from .quantize import ImageCalibrationReader, Preprocess

# an end-to-end graph's threshold inputs during calibration (they only gate the NMS tail)
CALIBRATION_THRESHOLDS = (0.25, 0.5, 100)


class _WithThresholds(CalibrationDataReader):
    """An image reader whose feeds also carry the end-to-end graph's threshold inputs."""

    def __init__(self, images: ImageCalibrationReader) -> None:
        self.images = images
        conf, iou, cap = CALIBRATION_THRESHOLDS
        names = THRESHOLD_INPUTS
        self.extra = {
            names[0]: np.array([conf], np.float32),
            names[1]: np.array([iou], np.float32),
            names[2]: np.array([cap], np.int64),
        }

    def get_next(self) -> dict[str, np.ndarray] | None:
        feed = self.images.get_next()
        return None if feed is None else {**feed, **self.extra}


def _preprocess(info: OnnxInfo) -> Preprocess:
    """Letterbox + normalise as inference does, repeated to the graph's fixed batch."""
    transform = ImageTransform.for_config(info.config)
    repeat = 1 if info.dynamic_batch else info.batch_size

    def preprocess(batch: list[np.ndarray]) -> np.ndarray:
        return np.repeat(transform.batch(batch, "bgr")[0], repeat, axis=0)

    return preprocess


def write_tensorrt_calibration(model: Path, images: list[Path], folder: Path) -> Path:
    """Calibrate the fp32 export `model` on `images` (the largest |value| of every float
    tensor) and write ONNX Runtime's TensorRT table into `folder`; returns the table's path."""
    info = read_info(model)
    if info.precision != "fp32":
        raise ConfigError(
            f"{model} is {info.precision}: calibrate TensorRT INT8 on the fp32 export "
            "(hybridnets export without --half or --int8)"
        )
    reader: CalibrationDataReader = ImageCalibrationReader(images, _preprocess(info))
    if info.end_to_end:
        reader = _WithThresholds(reader)
    folder.mkdir(parents=True, exist_ok=True)
    with scratch_folder("hybridnets_trt_calib") as work:
        calibrator = create_calibrator(
            model,
            [],  # every float tensor
            augmented_model_path=str(work / "augmented.onnx"),
            calibrate_method=CalibrationMethod.MinMax,
            # TensorRT quantizes symmetrically: the table holds each tensor's largest |value|
            extra_options={"symmetric": True},
        )
        with contextlib.redirect_stdout(io.StringIO()):
            calibrator.collect_data(reader)
        ranges = calibrator.compute_data()
        write_calibration_table(dict(ranges.data), dir=str(work))
        shutil.move(work / CALIBRATION_TABLE, folder / CALIBRATION_TABLE)
    return folder / CALIBRATION_TABLE
