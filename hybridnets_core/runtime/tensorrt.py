"""TensorRT engines through ONNX Runtime: where an engine is cached and with which options.

An engine runs only on the TensorRT version and GPU it was built for, so each one gets a folder
named after everything it depends on: the model file's hash, the TensorRT version, the GPU name
and compute capability, precision, batch and input size. A different GPU or TensorRT then builds
a new engine instead of loading a stale one. The functions that read this machine's TensorRT and
GPU are separate from the pure ones, which take them as arguments (testable without a GPU).
"""

from __future__ import annotations

import ctypes
import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..model.weights import cache_dir
from .onnx_format import INPUT_NAME

ENGINE_PRECISIONS = ("fp16", "int8", "fp32")
ENGINE_SUFFIX = ".engine"  # how ONNX Runtime names the engine files it caches
CALIBRATION_TABLE = "calibration.flatbuffers"  # the INT8 table's name inside the engine folder
INSTALL_HINT = (
    "install onnxruntime-gpu (pip install 'hybridnets_ros[gpu]') and the TensorRT libraries "
    "it was built against (pip install tensorrt, or NVIDIA's packages on the library path)"
)
NVINFER_LIBRARIES = ("libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so", "nvinfer_10.dll")
HASH_CHARS = 16  # of the SHA-256: enough to tell exports apart, short enough for a folder name


def default_engine_root() -> Path:
    """Where engines are cached unless told otherwise: `$HYBRIDNETS_HOME/tensorrt`."""
    return cache_dir() / "tensorrt"


@dataclass(frozen=True)
class EngineTarget:
    """Everything an engine depends on; `key` names its cache folder.

    `batch` is the graph's fixed batch, or the most images per run for a dynamic-batch export
    (its optimisation profile); `calibration_sha256` is the INT8 table's hash ('' otherwise).
    """

    model_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    batch: int
    input_size: tuple[int, int]  # (H, W)
    dynamic_batch: bool = False
    calibration_sha256: str = ""

    def __post_init__(self) -> None:
        if self.precision not in ENGINE_PRECISIONS:
            raise ConfigError(
                f"unknown TensorRT precision {self.precision!r}: use one of "
                f"{', '.join(ENGINE_PRECISIONS)}"
            )
        if self.batch < 1:
            raise ConfigError(f"the TensorRT batch must be at least 1, got {self.batch}")
        if (self.precision == "int8") != bool(self.calibration_sha256):
            raise ConfigError(
                "a TensorRT INT8 engine needs a calibration table, and only INT8 does"
            )

    @property
    def key(self) -> str:
        """Folder name, e.g. `3f2a..._trt10.3.0_NVIDIA-H100-80GB-HBM3_sm90_fp16_b8_640x384`."""
        height, width = self.input_size
        gpu = re.sub(r"[^A-Za-z0-9.]+", "-", self.gpu_name).strip("-")
        capability = self.compute_capability.replace(".", "")
        precision = self.precision
        if self.calibration_sha256:
            precision += f"-{self.calibration_sha256[:8]}"
        return (
            f"{self.model_sha256[:HASH_CHARS]}_trt{self.tensorrt_version}_{gpu}_sm{capability}_"
            f"{precision}_b{self.batch}_{width}x{height}"
        )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (exports are tens of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def engine_folder(root: Path, target: EngineTarget) -> Path:
    """The folder of one engine (and its timing cache and INT8 table) under the cache root."""
    return root / target.key


def has_cached_engine(folder: Path) -> bool:
    """Whether ONNX Runtime left an engine in `folder` (it then loads it instead of building)."""
    return folder.is_dir() and any(folder.glob(f"*{ENGINE_SUFFIX}"))


def provider_options(
    folder: Path, device_id: int, precision: str, target: EngineTarget | None = None
) -> dict[str, str]:
    """TensorrtExecutionProvider options: engine and timing cache in `folder`, precision, and
    for a dynamic-batch target the optimisation profile from 1 to its batch (ONNX Runtime needs
    the profile given explicitly to reuse a cached engine)."""
    if precision not in ENGINE_PRECISIONS:
        raise ConfigError(f"unknown TensorRT precision {precision!r}")
    options = {
        "device_id": str(device_id),
        "trt_fp16_enable": str(precision != "fp32"),  # INT8 engines keep fp16 where int8 can't
        "trt_int8_enable": str(precision == "int8"),
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(folder),
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": str(folder),
    }
    if precision == "int8":
        options["trt_int8_calibration_table_name"] = CALIBRATION_TABLE
    if target is not None and target.dynamic_batch:
        height, width = target.input_size
        shape = f"{INPUT_NAME}:{{}}x3x{height}x{width}"
        options["trt_profile_min_shapes"] = shape.format(1)
        options["trt_profile_opt_shapes"] = shape.format(target.batch)
        options["trt_profile_max_shapes"] = shape.format(target.batch)
    return options


def place_calibration_table(table: Path, folder: Path) -> None:
    """Copy an INT8 calibration table into the engine folder, where ONNX Runtime reads it."""
    if not table.is_file():
        raise ConfigError(f"calibration table {table} not found")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(table, folder / CALIBRATION_TABLE)


def decode_tensorrt_version(number: int) -> str:
    """getInferLibVersion()'s number as 'major.minor.patch': TensorRT 10 counts major*10000 +
    minor*100 + patch (100300 = 10.3.0), TensorRT 8 major*1000 + minor*100 + patch (8601)."""
    if number <= 0:
        raise ConfigError(f"unreadable TensorRT version number {number}")
    major_unit = 10000 if number >= 100000 else 1000
    major, rest = divmod(number, major_unit)
    minor, patch = divmod(rest, 100)
    return f"{major}.{minor}.{patch}"


def tensorrt_version() -> str:
    """The TensorRT version ONNX Runtime will load: the tensorrt package's, else libnvinfer's."""
    try:
        import tensorrt  # optional: NVIDIA's pip package

        return str(tensorrt.__version__)
    except ImportError:
        pass
    for name in NVINFER_LIBRARIES:
        try:
            library = ctypes.CDLL(name)
        except OSError:
            continue
        return decode_tensorrt_version(int(library.getInferLibVersion()))
    raise ConfigError(
        f"cannot read the TensorRT version (no tensorrt package or libnvinfer); {INSTALL_HINT}"
    )


def parse_gpu_query(text: str) -> tuple[str, str]:
    """(name, compute capability) from `nvidia-smi --query-gpu=name,compute_cap
    --format=csv,noheader` for one GPU, e.g. 'NVIDIA H100 80GB HBM3, 9.0'."""
    name, _, capability = (
        text.strip().splitlines()[0].rpartition(",") if text.strip() else ("", "", "")
    )
    name, capability = name.strip(), capability.strip()
    if not name or not re.fullmatch(r"\d+\.\d+", capability):
        raise ConfigError(f"cannot read the GPU's name and compute capability from {text!r}")
    return name, capability


def gpu_identity(device_id: int) -> tuple[str, str]:
    """This machine's GPU `device_id` as (name, compute capability), read with nvidia-smi."""
    command = [
        "nvidia-smi",
        "--query-gpu=name,compute_cap",
        "--format=csv,noheader",
        "-i",
        str(device_id),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(
            f"cannot read GPU {device_id}'s name with nvidia-smi ({exc}); is the NVIDIA driver "
            "installed and the GPU visible?"
        ) from exc
    return parse_gpu_query(result.stdout)
