"""ONNX Runtime backend: providers TensorRT -> CUDA -> CPU, fp16, I/O binding, thread settings.

Loads files written by `hybridnets export`; the network config comes from the file's metadata.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..errors import CheckpointError, ConfigError, InputError
from ..model.anchors import anchors_for
from ..model.config import ModelConfig
from ..native import BUILD_HINT, DOMAIN, register_ops
from ..settings import DetectionSettings
from .base import DecodedOutputs, NetworkDetections
from .onnx_format import (
    END2END_OUTPUTS,
    IMAGE_IDS,
    INPUT_NAME,
    SEG_LABELS,
    THRESHOLD_INPUTS,
    OnnxInfo,
)
from .raw_outputs import NetworkOutputs, RawOutputs
from .tensorrt import (
    EngineTarget,
    default_engine_root,
    engine_folder,
    file_sha256,
    gpu_identity,
    has_cached_engine,
    place_calibration_table,
    provider_options,
    tensorrt_version,
)

LOGGER = logging.getLogger(__name__)
TENSORRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
QUIET = 3  # ORT's own log: errors only (fp16 graphs on CPU print harmless folding notes)


@dataclass
class OnnxOptions:
    """Session settings: CPU threads and spinning, TensorRT on/off, its engine cache and build.

    Spinning (idle threads busy-wait for the next run) is off by default: on a small CPU shared
    with ROS callbacks or a torch model it steals the cores they need. `trt_cache` is the root
    of the engine cache (default `$HYBRIDNETS_HOME/tensorrt`); each engine lives in a folder of
    it keyed by model, TensorRT, GPU, precision, batch and input size. `trt_calibration` (an
    INT8 calibration table) makes TensorRT build INT8; `trt_batch` is the most images per run a
    dynamic-batch export's engine takes (default 1).
    """

    threads: int | None = None
    spinning: bool = False
    tensorrt: bool = True
    trt_cache: Path | None = None
    trt_calibration: Path | None = None
    trt_batch: int | None = None

    def trt_precision(self, half: bool) -> str:
        """The engine's precision: int8 with a calibration table, else fp16 with `half`."""
        return "int8" if self.trt_calibration else "fp16" if half else "fp32"


def _root(options: OnnxOptions) -> Path:
    """The engine cache's root folder."""
    return options.trt_cache or default_engine_root()


def parse_device(device: str) -> tuple[str, int]:
    """'cpu' -> ('cpu', 0); 'cuda' / 'cuda:N' -> ('cuda', N); anything else is a ConfigError."""
    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind == "cuda" and (not index or index.isdigit()):
        return "cuda", int(index or 0)
    raise ConfigError(f"unsupported device {device!r}: use 'cpu' or 'cuda[:N]'")


def provider_chain(
    device: str,
    half: bool,
    options: OnnxOptions,
    available: list[str],
    engine: EngineTarget | None = None,
) -> list[tuple[str, dict[str, str]]]:
    """Providers to try in order, with their options; ConfigError when the device can't be used.

    With an `engine` target TensorRT caches in that target's folder under `options.trt_cache`
    (built with its precision and batch profile), without one in `options.trt_cache` itself.
    """
    kind, index = parse_device(device)
    if kind == "cpu":
        if half:
            raise ConfigError(
                "half precision needs a CUDA device; drop --half or use --device cuda"
            )
        return [(CPU, {})]
    if CUDA not in available:
        raise ConfigError(
            f"device {device!r} requested but onnxruntime has no CUDA provider (it has "
            f"{', '.join(available)}); pip install 'hybridnets_ros[gpu]' or use --device cpu"
        )
    chain: list[tuple[str, dict[str, str]]] = []
    if options.tensorrt and TENSORRT in available:
        root = _root(options)
        folder = engine_folder(root, engine) if engine else root
        folder.mkdir(parents=True, exist_ok=True)
        precision = engine.precision if engine else options.trt_precision(half)
        chain.append((TENSORRT, provider_options(folder, index, precision, engine)))
    chain.append((CUDA, {"device_id": str(index)}))
    chain.append((CPU, {}))
    return chain


def _settings(options: OnnxOptions, optimise: bool = True) -> tuple[ort.SessionOptions, bool]:
    """Session settings from `options`, with our native ops registered (and whether they are)."""
    settings = ort.SessionOptions()
    settings.log_severity_level = QUIET
    settings.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if optimise
        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    settings.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    settings.inter_op_num_threads = 1
    native_ops = register_ops(settings)
    spinning = "1" if options.spinning else "0"
    settings.add_session_config_entry("session.intra_op.allow_spinning", spinning)
    settings.add_session_config_entry("session.inter_op.allow_spinning", spinning)
    if options.threads is not None:
        if options.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {options.threads}")
        settings.intra_op_num_threads = options.threads
    return settings, native_ops


def _open(
    path: Path, options: OnnxOptions, chain: list[tuple[str, dict[str, str]]], optimise: bool = True
) -> ort.InferenceSession:
    """An InferenceSession of `path` on `chain`; CheckpointError naming the fix if it fails."""
    settings, native_ops = _settings(options, optimise)
    try:
        return ort.InferenceSession(
            str(path),
            settings,
            providers=[name for name, _ in chain],
            provider_options=[opts for _, opts in chain],
        )
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
        if not native_ops and DOMAIN in str(exc):
            raise CheckpointError(
                f"{path} uses our native {DOMAIN} INT8 ops but their library is "
                f"not built; {BUILD_HINT}, or export again with --no-native-ops"
            ) from exc
        raise CheckpointError(
            f"onnxruntime cannot load {path}: {str(exc).splitlines()[0]}; export it again"
        ) from exc


def read_info(path: Path) -> OnnxInfo:
    """A file's metadata, read through an unoptimised CPU session (cheap, no GPU touched)."""
    if not path.is_file():
        raise CheckpointError(f"ONNX file {path} not found; write it with `hybridnets export`")
    session = _open(path, OnnxOptions(), [(CPU, {})], optimise=False)
    return OnnxInfo.from_properties(session.get_modelmeta().custom_metadata_map, str(path))


def engine_target(
    path: Path,
    info: OnnxInfo,
    precision: str,
    batch: int | None,
    tensorrt: str,
    gpu: tuple[str, str],
) -> EngineTarget:
    """The TensorRT engine of export `path` (metadata `info`) on TensorRT version `tensorrt`
    and GPU `gpu` (name, compute capability): batch `batch` (default 1) for a dynamic-batch
    export, a fixed-batch export's own otherwise."""
    engine_batch = (batch or 1) if info.dynamic_batch else info.batch_size
    name, capability = gpu
    return EngineTarget(
        model_sha256=file_sha256(path),
        tensorrt_version=tensorrt,
        gpu_name=name,
        compute_capability=capability,
        precision=precision,
        batch=engine_batch,
        input_size=info.config.input_size,
        dynamic_batch=info.dynamic_batch,
    )


class OnnxSession:
    """One InferenceSession plus I/O binding: inputs copied to the device once, outputs once.

    On TensorRT the engine is built (or loaded from its cache folder) and run once here, so the
    first frame does not pay for it; `engine_note` says which happened (None off TensorRT) and
    `max_batch` is the most images a run takes (None: any, or the file's fixed batch).
    """

    def __init__(self, path: Path, device: str, half: bool, options: OnnxOptions) -> None:
        if not path.is_file():
            raise CheckpointError(f"ONNX file {path} not found; write it with `hybridnets export`")
        available = ort.get_available_providers()
        chain = provider_chain(device, half, options, available)  # checks the device first
        engine = None
        if chain[0][0] == TENSORRT:
            engine, options = self._engine(path, device, half, options)
            chain = provider_chain(device, half, options, available, engine)
        folder = engine_folder(_root(options), engine) if engine else None
        cached = folder is not None and has_cached_engine(folder)  # before the session builds
        started = time.perf_counter()
        self.session = _open(path, options, chain)
        self.provider = self.session.get_providers()[0]
        self.info = OnnxInfo.from_properties(
            self.session.get_modelmeta().custom_metadata_map, str(path)
        )
        if half and self.provider == CUDA and self.info.precision == "fp32":
            LOGGER.warning(
                "%s is fp32: the CUDA provider runs it in fp32; export with --half", path
            )
        self.output_device = "cpu" if self.provider == CPU else "cuda"
        self.device_id = parse_device(device)[1]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.engine_note: str | None = None
        # a dynamic-batch TensorRT engine takes at most its profile's batch per run
        self.max_batch = engine.batch if engine and self.provider == TENSORRT else None
        wanted = chain[0][0]
        LOGGER.log(
            logging.INFO if self.provider == wanted else logging.WARNING,
            "onnxruntime runs %s (%s, %s) with %s%s",
            path.name,
            self.info.graph,
            self.info.precision,
            self.provider,
            "" if self.provider == wanted else f" ({wanted} could not be used)",
        )
        if engine is not None and self.provider == TENSORRT:
            self._warm_up(engine)
            seconds = time.perf_counter() - started
            self.engine_note = (
                f"TensorRT engine from cache {folder}"
                if cached
                else f"TensorRT engine built in {seconds:.1f} s ({folder})"
            )
            LOGGER.info("%s", self.engine_note)

    @staticmethod
    def _engine(
        path: Path, device: str, half: bool, options: OnnxOptions
    ) -> tuple[EngineTarget | None, OnnxOptions]:
        """The engine target (its INT8 table copied into its folder), or None and TensorRT off
        when this machine's TensorRT or GPU cannot be read: an engine that cannot be keyed is
        never cached, so a stale one is never loaded."""
        try:
            engine = engine_target(
                path,
                read_info(path),
                options.trt_precision(half),
                options.trt_batch,
                tensorrt_version(),
                gpu_identity(parse_device(device)[1]),
            )
        except ConfigError as exc:
            LOGGER.warning("TensorRT is not used: %s", exc)
            return None, replace(options, tensorrt=False)
        if options.trt_calibration is not None:
            table = options.trt_calibration
            engine = replace(engine, calibration_sha256=file_sha256(table))
            place_calibration_table(table, engine_folder(_root(options), engine))
        return engine, options

    def _warm_up(self, engine: EngineTarget) -> None:
        """Run one batch of zeros of the engine's shape (TensorRT builds a missing engine at the
        latest on its first run)."""
        height, width = engine.input_size
        if self.info.uint8_input:
            image = np.zeros((engine.batch, height, width, 3), np.uint8)
        else:
            image = np.zeros((engine.batch, 3, height, width), np.float32)
        feeds = {INPUT_NAME: image}
        if self.info.end_to_end:
            conf, iou, max_det = THRESHOLD_INPUTS
            feeds |= {
                conf: np.array([0.5], np.float32),
                iou: np.array([0.5], np.float32),
                max_det: np.array([1], np.int64),
            }
        self.run(feeds)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Bind host inputs and device outputs, run, and copy the outputs to host once."""
        binding = self.session.io_binding()
        for name, array in feeds.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(array))
        for name in self.output_names:
            binding.bind_output(name, self.output_device, self.device_id)
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()


class _OnnxBackend:
    """What both ONNX runtimes share: the session, its config, fixed input size and batch."""

    name = "onnxruntime"

    def __init__(self, session: OnnxSession, device: str) -> None:
        self.session = session
        self.device = device
        self.uint8_input = session.info.uint8_input
        self.provider: str | None = session.provider
        self.engine_note: str | None = session.engine_note
        self.config: ModelConfig = session.info.config
        height, width = self.config.input_size
        self.fixed_input_size: tuple[int, int] | None = (height, width)

    def _checked(self, batch: np.ndarray) -> np.ndarray:
        """The batch in the file's input type: float32 NCHW, or uint8 NHWC RGB frames for a
        uint8-input export (InputError for a float batch there, which it cannot normalise)."""
        if not self.uint8_input:
            return batch.astype(np.float32, copy=False)
        if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[3] != 3:
            raise InputError(
                f"this export takes uint8 [B, H, W, 3] RGB frames (--uint8-input), got "
                f"{batch.dtype} {list(batch.shape)}; feed ImageTransform.uint8_batch's output"
            )
        return batch

    def _chunks(self, batch: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """The batch as the file takes it, as (chunk, images of the batch in it): whole with a
        dynamic batch axis (in chunks of a TensorRT engine's largest batch), else chunks of the
        graph's fixed batch, the last one padded by repeating its last image (so val, bag
        replay and a multi-camera node batch any export)."""
        batch = self._checked(batch)
        info = self.session.info
        if info.dynamic_batch:
            limit = self.session.max_batch or len(batch)
            parts = [batch[start : start + limit] for start in range(0, len(batch), limit)]
            return [(part, len(part)) for part in parts]
        size = info.batch_size
        chunks = []
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            real = len(chunk)
            if real < size:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], size - real, axis=0)])
            chunks.append((chunk, real))
        return chunks


class OnnxRuntime(_OnnxBackend):
    """A raw export: the network's outputs, decoded like TorchRuntime's."""

    end_to_end = False

    def network(self, batch: np.ndarray) -> NetworkOutputs:
        """The raw (regression, classification, segmentation) outputs of the whole batch."""
        runs = []
        for chunk, real in self._chunks(batch):
            outputs = self.session.run({INPUT_NAME: chunk})
            runs.append(outputs if real == len(chunk) else [o[:real] for o in outputs])
        regression, classification, segmentation = _join(runs)
        return regression, classification, segmentation

    def run(self, batch: np.ndarray, thresholds: Sequence[DetectionSettings]) -> RawOutputs:
        return RawOutputs(self.network(batch), self.config, thresholds)


class OnnxEndToEndRuntime(_OnnxBackend):
    """An end-to-end export: detections and seg labels come out of the graph, one run per
    thresholds set (the thresholds are graph inputs)."""

    end_to_end = True

    def run(self, batch: np.ndarray, thresholds: Sequence[DetectionSettings]) -> DecodedOutputs:
        runs = [self._final(batch, settings) for settings in thresholds]
        per_thresholds = []
        for boxes, scores, class_ids, image_ids, _ in runs:
            rows = [image_ids == index for index in range(len(batch))]
            per_thresholds.append(
                [NetworkDetections(boxes[r], scores[r], class_ids[r]) for r in rows]
            )
        return DecodedOutputs(per_thresholds, runs[0][-1])  # labels do not depend on thresholds

    def _final(self, batch: np.ndarray, settings: DetectionSettings) -> list[np.ndarray]:
        """END2END_OUTPUTS of the batch at one thresholds set, image ids within the batch."""
        conf, iou, max_det = THRESHOLD_INPUTS
        cap = settings.cap or len(anchors_for(self.config))  # no cap: every anchor may stay
        feeds = {
            conf: np.array([settings.conf_threshold], np.float32),
            iou: np.array([settings.iou_threshold], np.float32),
            max_det: np.array([cap], np.int64),
        }
        runs: list[list[np.ndarray]] = []
        first_image = 0
        for chunk, real in self._chunks(batch):
            outputs = self.session.run({INPUT_NAME: chunk, **feeds})
            named = dict(zip(self.session.output_names, outputs))
            if real < len(chunk):  # drop the padding images' rows
                rows = named[IMAGE_IDS] < real
                named = {k: v[:real] if k == SEG_LABELS else v[rows] for k, v in named.items()}
            if first_image:  # chunk-local image ids -> batch index
                named[IMAGE_IDS] = named[IMAGE_IDS] + first_image
            runs.append([named[name] for name in END2END_OUTPUTS])
            first_image += real
        return _join(runs)


def _join(runs: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Each output of consecutive runs joined along the batch axis; one run (every frame of
    the node) is returned as it is, without a copy."""
    if len(runs) == 1:
        return runs[0]
    return [np.concatenate(parts) for parts in zip(*runs)]


def load_onnx_runtime(
    path: str | Path, device: str = "cpu", half: bool = False, options: OnnxOptions | None = None
) -> OnnxRuntime | OnnxEndToEndRuntime:
    """Open an exported .onnx file with the best available provider for `device`."""
    session = OnnxSession(Path(path), device, half, options or OnnxOptions())
    runtime = OnnxEndToEndRuntime if session.info.end_to_end else OnnxRuntime
    return runtime(session, device)
