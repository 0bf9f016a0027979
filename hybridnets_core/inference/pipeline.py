"""The one inference path from uint8 pixels to results: transform, runtime, postprocess.

The node, the CLIs, bag tools and benchmarks all call `Pipeline` and use the `FrameResult`s
it returns; nothing else runs a runtime or reads raw network outputs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..decoding.postprocess import label_maps
from ..errors import ConfigError, InputError
from ..model.anchors import anchors_for
from ..model.config import ModelConfig
from ..runtime.backends import create_runtime
from ..runtime.base import NetworkDetections, Runtime, RuntimeOutputs
from ..settings import MASK_RESOLUTIONS, DetectionSettings
from .letterbox import Letterbox
from .results import Detections, FrameResult
from .transform import ImageTransform

if TYPE_CHECKING:
    from ..model import HybridNets
    from ..runtime.onnx_runtime import OnnxOptions
    from ..runtime.threads import ThreadSettings


@dataclass(frozen=True)
class PreparedBatch:
    """The network input (a normalised float NCHW batch, or uint8 NHWC RGB frames for a
    runtime with `uint8_input`), each image's letterbox, the detection thresholds of this
    batch (None: the Pipeline's) and seconds spent per stage so far."""

    batch: np.ndarray
    letterboxes: list[Letterbox]
    seconds: dict[str, float]
    detection: DetectionSettings | None = None


@dataclass(frozen=True)
class InferredBatch:
    """A batch's runtime outputs: detections at `thresholds[0]` and, with a scoring set,
    at `thresholds[1]`."""

    letterboxes: list[Letterbox]
    outputs: RuntimeOutputs
    thresholds: tuple[DetectionSettings, ...]
    seconds: dict[str, float]


class Pipeline:
    """Letterbox + normalise, run a runtime, decode boxes/NMS and labels, map to source pixels.

    `detection` sets the thresholds of `FrameResult.detections`; `scoring`, when given, adds
    a second set (`FrameResult.scored`) from the same forward pass, e.g. val's thresholds
    next to the node's. With an end-to-end runtime the graph decodes and suppresses itself, so
    a scoring set costs a second run of the graph.
    """

    def __init__(
        self,
        runtime: Runtime,
        config: ModelConfig,
        detection: DetectionSettings | None = None,
        mask_resolution: str = "source",
        input_size: tuple[int, int] | None = None,
        scoring: DetectionSettings | None = None,
    ) -> None:
        self.runtime = runtime
        self.config = config
        self.detection = detection or DetectionSettings()
        self.scoring = scoring
        if mask_resolution not in MASK_RESOLUTIONS:
            raise ConfigError(f"mask_resolution must be one of {MASK_RESOLUTIONS}")
        self.mask_resolution = mask_resolution
        self.transform = ImageTransform.for_config(config, input_size)
        fixed = runtime.fixed_input_size
        if fixed is not None and fixed != self.input_size:
            raise ConfigError(
                f"this {runtime.name} model was exported for {fixed[1]}x{fixed[0]} (WxH), not "
                f"{self.input_size[1]}x{self.input_size[0]}; export it again with --input-size"
            )

    @classmethod
    def from_weights(
        cls,
        weights: str | Path | None = None,
        device: str = "cpu",
        half: bool = False,
        backend: str = "torch",
        onnx_options: OnnxOptions | None = None,
        threads: ThreadSettings | None = None,
        **options: Any,
    ) -> Pipeline:
        """Load a checkpoint (None: the built-in model) or, for backend 'onnxruntime', a .onnx;
        `threads`: CPU threads and spinning of the runtime (None: the libraries' defaults)."""
        runtime, config = create_runtime(backend, weights, device, half, onnx_options, threads)
        return cls(runtime, config, **options)

    @classmethod
    def from_model(
        cls,
        model: HybridNets,
        config: ModelConfig,
        device: str = "cpu",
        half: bool = False,
        as_trained: bool = False,
        **options: Any,
    ) -> Pipeline:
        """Wrap an in-memory network (e.g. freshly trained or randomly initialised).

        `as_trained`: run it unfolded in NCHW, as the reference implementation does (a baseline).
        """
        from ..runtime.torch_runtime import TorchRuntime  # torch only for an in-memory model

        runtime = TorchRuntime(model, config, device=device, half=half, as_trained=as_trained)
        return cls(runtime, config, **options)

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) of the network input."""
        return self.transform.network_size

    @property
    def anchors(self) -> np.ndarray:
        """The network's anchors [N, 4] (y1, x1, y2, x2) at its input size."""
        return anchors_for(self.config, self.input_size)

    @property
    def backend_name(self) -> str:
        return self.runtime.name

    @property
    def device(self) -> str:
        return self.runtime.device

    @property
    def provider(self) -> str | None:
        """The ONNX Runtime execution provider in use, None for torch."""
        return self.runtime.provider

    @property
    def class_names(self) -> list[str]:
        return self.config.obj_list

    @property
    def seg_names(self) -> list[str]:
        return self.config.seg_list

    @property
    def end_to_end(self) -> bool:
        """True when the runtime returns final detections (an end-to-end ONNX export)."""
        return self.runtime.end_to_end

    def run_batch(
        self,
        images: Sequence[np.ndarray],
        color: str | Sequence[str] = "bgr",
        detection: DetectionSettings | None = None,
    ) -> list[FrameResult]:
        """Process several images in one forward pass; timings are each frame's share.

        `detection`, when given, replaces `self.detection` for this batch only.
        """
        return self.finish(self.infer(self.prepare(images, color, detection)))

    def prepare(
        self,
        images: Sequence[np.ndarray],
        color: str | Sequence[str] = "bgr",
        detection: DetectionSettings | None = None,
        letterboxes: Sequence[Letterbox] | None = None,
    ) -> PreparedBatch:
        """Stage 1 of `run_batch`: letterbox and normalise (CPU; overlaps another forward); for
        a runtime that normalises inside its graph (`uint8_input`) letterbox only.

        `detection` (None: `self.detection` when the batch is inferred) travels with the batch;
        `letterboxes` are the images' fits (`transform.fit`) when the caller made them already.
        """
        if len(images) == 0:
            raise InputError("no images given")
        start = time.perf_counter()
        build = self.transform.uint8_batch if self.runtime.uint8_input else self.transform.batch
        batch, letterboxes = build(images, color, letterboxes)
        seconds = {"preprocess": time.perf_counter() - start}
        return PreparedBatch(batch, letterboxes, seconds, detection)

    def infer(
        self, prepared: PreparedBatch, detection: DetectionSettings | None = None
    ) -> InferredBatch:
        """Stage 2: the forward pass (an end-to-end graph runs once per thresholds set).

        Thresholds: `detection`, else the prepared batch's, else `self.detection`.
        """
        chosen = detection or prepared.detection or self.detection
        thresholds = (chosen,) if self.scoring is None else (chosen, self.scoring)
        start = time.perf_counter()
        outputs = self.runtime.run(prepared.batch, thresholds)
        seconds = {**prepared.seconds, "forward": time.perf_counter() - start}
        return InferredBatch(prepared.letterboxes, outputs, thresholds, seconds)

    def finish(self, inferred: InferredBatch) -> list[FrameResult]:
        """Stage 3: decode boxes and labels per image and map them to source pixels."""
        start = time.perf_counter()
        outputs = inferred.outputs
        detections = outputs.detections(0)
        scored = outputs.detections(1) if len(inferred.thresholds) > 1 else None
        labels = outputs.seg_labels()
        mode, count = self.config.seg_mode, len(inferred.letterboxes)
        seconds = {**inferred.seconds, "postprocess": time.perf_counter() - start}
        timings = {stage: value * 1000.0 / count for stage, value in seconds.items()}
        return [
            FrameResult(
                detections=_to_source(detections[index], letterbox),
                names=self.class_names,
                label_maps=label_maps(labels[index], mode, len(self.seg_names)),
                seg_names=self.seg_names,
                letterbox=letterbox,
                mask_resolution=self.mask_resolution,
                scored=None if scored is None else _to_source(scored[index], letterbox),
                timings=dict(timings),
            )
            for index, letterbox in enumerate(inferred.letterboxes)
        ]

    def __call__(
        self,
        images: np.ndarray | Sequence[np.ndarray],
        color: str = "bgr",
        detection: DetectionSettings | None = None,
    ) -> FrameResult | list[FrameResult]:
        """One HxWx3 uint8 image -> one result; a list (or BxHxWx3 array) -> a list.

        `detection`, when given, replaces `self.detection` for this call only.
        """
        if isinstance(images, np.ndarray) and images.ndim != 4:
            return self.run_batch([images], color, detection)[0]
        return self.run_batch(list(images), color, detection)


def _to_source(found: NetworkDetections, letterbox: Letterbox) -> Detections:
    """One image's detections mapped from network to source pixels."""
    return Detections(letterbox.boxes_to_source(found.boxes), found.scores, found.class_ids)
