"""ONNX Runtime backend: providers TensorRT -> CUDA -> CPU, fp16, I/O binding, thread settings.

Loads files written by `hybridnets export`; the network config comes from the file's metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..errors import CheckpointError, ConfigError
from ..model.anchors import anchors_for
from ..model.config import ModelConfig
from ..model.weights import cache_dir
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

LOGGER = logging.getLogger(__name__)
TENSORRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
QUIET = 3  # ORT's own log: errors only (fp16 graphs on CPU print harmless folding notes)


@dataclass
class OnnxOptions:
    """Session settings: CPU threads and spinning, TensorRT on/off and its engine cache folder.

    Spinning (idle threads busy-wait for the next run) is off by default: on a small CPU shared
    with ROS callbacks or a torch model it steals the cores they need.
    """

    threads: int | None = None
    spinning: bool = False
    tensorrt: bool = True
    trt_cache: Path | None = None


def parse_device(device: str) -> tuple[str, int]:
    """'cpu' -> ('cpu', 0); 'cuda' / 'cuda:N' -> ('cuda', N); anything else is a ConfigError."""
    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind == "cuda" and (not index or index.isdigit()):
        return "cuda", int(index or 0)
    raise ConfigError(f"unsupported device {device!r}: use 'cpu' or 'cuda[:N]'")


def provider_chain(
    device: str, half: bool, options: OnnxOptions, available: list[str]
) -> list[tuple[str, dict[str, str]]]:
    """Providers to try in order, with their options; ConfigError when the device can't be used."""
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
        cache = options.trt_cache or cache_dir() / "tensorrt"
        cache.mkdir(parents=True, exist_ok=True)
        chain.append(
            (
                TENSORRT,
                {
                    "device_id": str(index),
                    "trt_fp16_enable": str(half),
                    "trt_engine_cache_enable": "True",
                    "trt_engine_cache_path": str(cache),
                    "trt_timing_cache_enable": "True",
                    "trt_timing_cache_path": str(cache),
                },
            )
        )
    chain.append((CUDA, {"device_id": str(index)}))
    chain.append((CPU, {}))
    return chain


class OnnxSession:
    """One InferenceSession plus I/O binding: inputs copied to the device once, outputs once."""

    def __init__(self, path: Path, device: str, half: bool, options: OnnxOptions) -> None:
        if not path.is_file():
            raise CheckpointError(f"ONNX file {path} not found; write it with `hybridnets export`")
        chain = provider_chain(device, half, options, ort.get_available_providers())
        settings = ort.SessionOptions()
        settings.log_severity_level = QUIET
        settings.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        settings.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        settings.inter_op_num_threads = 1
        native_ops = register_ops(settings)
        settings.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if options.spinning else "0"
        )
        if options.threads is not None:
            if options.threads < 1:
                raise ConfigError(f"threads must be at least 1, got {options.threads}")
            settings.intra_op_num_threads = options.threads
        try:
            self.session = ort.InferenceSession(
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
        self.provider: str | None = session.provider
        self.config: ModelConfig = session.info.config
        height, width = self.config.input_size
        self.fixed_input_size: tuple[int, int] | None = (height, width)

    def _chunks(self, batch: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """The batch as the file takes it, as (chunk, images of the batch in it): whole with a
        dynamic batch axis, else chunks of the graph's fixed batch, the last one padded by
        repeating its last image (so val, bag replay and a multi-camera node batch any export)."""
        batch = batch.astype(np.float32, copy=False)
        info = self.session.info
        if info.dynamic_batch:
            return [(batch, len(batch))]
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
