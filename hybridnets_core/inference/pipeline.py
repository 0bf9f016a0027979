"""The one inference path from uint8 pixels to results: transform, runtime, postprocess.

The node, the CLIs, bag tools and benchmarks all call `Pipeline` and use the `FrameResult`s
it returns; nothing else runs a runtime or reads raw network outputs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError, InputError
from ..model import HybridNets
from ..model.anchors import anchors_for
from ..model.config import ModelConfig
from ..runtime.backends import create_runtime
from ..runtime.base import EndToEndOutputs, EndToEndRuntime, NetworkOutputs, Runtime, TorchRuntime
from ..settings import MASK_RESOLUTIONS, DetectionSettings
from .letterbox import Letterbox
from .postprocess import class_maps, segmentation_labels, select_detections
from .results import Detections, FrameResult
from .transform import ImageTransform

if TYPE_CHECKING:
    from ..runtime.onnx_runtime import OnnxOptions


@dataclass(frozen=True)
class _NetworkDetections:
    """One image's detections in network pixels, before mapping to the source."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    def to_source(self, letterbox: Letterbox) -> Detections:
        return Detections(letterbox.boxes_to_source(self.boxes), self.scores, self.class_ids)


@dataclass(frozen=True)
class PreparedBatch:
    """A normalised NCHW batch, each image's letterbox, and seconds spent per stage so far."""

    batch: np.ndarray
    letterboxes: list[Letterbox]
    seconds: dict[str, float]


@dataclass(frozen=True)
class InferredBatch:
    """Raw (or end-to-end) network outputs of a batch, for the thresholds and scoring sets."""

    letterboxes: list[Letterbox]
    outputs: NetworkOutputs | EndToEndOutputs
    scoring_outputs: NetworkOutputs | EndToEndOutputs
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
        runtime: Runtime | EndToEndRuntime,
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
        fixed = getattr(runtime, "fixed_input_size", None)
        if fixed is not None and tuple(fixed) != self.input_size:
            raise ConfigError(
                f"this {runtime.name} model was exported for {fixed[1]}x{fixed[0]} (WxH), not "
                f"{self.input_size[1]}x{self.input_size[0]}; export it again with --input-size"
            )
        self.anchors = anchors_for(config, self.input_size)

    @classmethod
    def from_weights(
        cls,
        weights: str | Path | None = None,
        device: str = "cpu",
        half: bool = False,
        backend: str = "torch",
        onnx_options: OnnxOptions | None = None,
        **options: object,
    ) -> Pipeline:
        """Load a checkpoint (None: the built-in model) or, for backend 'onnxruntime', a .onnx."""
        runtime, config = create_runtime(backend, weights, device, half, onnx_options)
        return cls(runtime, config, **options)  # type: ignore[arg-type]

    @classmethod
    def from_model(
        cls,
        model: HybridNets,
        config: ModelConfig,
        device: str = "cpu",
        half: bool = False,
        **options: object,
    ) -> Pipeline:
        """Wrap an in-memory network (e.g. freshly trained or randomly initialised)."""
        return cls(TorchRuntime(model, device=device, half=half), config, **options)  # type: ignore[arg-type]

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) of the network input."""
        return self.transform.network_size

    @property
    def backend_name(self) -> str:
        return self.runtime.name

    @property
    def device(self) -> str:
        return self.runtime.device

    @property
    def provider(self) -> str | None:
        """The ONNX Runtime execution provider in use, None for torch."""
        return getattr(self.runtime, "provider", None)

    @property
    def class_names(self) -> list[str]:
        return self.config.obj_list

    @property
    def seg_names(self) -> list[str]:
        return self.config.seg_list

    @property
    def end_to_end(self) -> bool:
        """True when the runtime returns final detections (an end-to-end ONNX export)."""
        return bool(getattr(self.runtime, "end_to_end", False))

    def run_batch(
        self, images: Sequence[np.ndarray], color: str | Sequence[str] = "bgr"
    ) -> list[FrameResult]:
        """Process several images in one forward pass; timings are each frame's share."""
        return self.finish(self.infer(self.prepare(images, color)))

    def prepare(
        self, images: Sequence[np.ndarray], color: str | Sequence[str] = "bgr"
    ) -> PreparedBatch:
        """Stage 1 of `run_batch`: letterbox and normalise (CPU; overlaps another forward)."""
        if len(images) == 0:
            raise InputError("no images given")
        start = time.perf_counter()
        batch, letterboxes = self.transform.batch(images, color)
        return PreparedBatch(batch, letterboxes, {"preprocess": time.perf_counter() - start})

    def infer(
        self, prepared: PreparedBatch, detection: DetectionSettings | None = None
    ) -> InferredBatch:
        """Stage 2: the forward pass(es) (an end-to-end graph runs again for `scoring`);
        `detection` replaces `self.detection` for this batch (an end-to-end graph's thresholds)."""
        start = time.perf_counter()
        outputs = self._forward(prepared.batch, detection or self.detection)
        scoring_outputs = outputs
        if self.scoring is not None and self.end_to_end:
            scoring_outputs = self._forward(prepared.batch, self.scoring)
        seconds = {**prepared.seconds, "forward": time.perf_counter() - start}
        return InferredBatch(prepared.letterboxes, outputs, scoring_outputs, seconds)

    def finish(
        self, inferred: InferredBatch, detection: DetectionSettings | None = None
    ) -> list[FrameResult]:
        """Stage 3: decode boxes and labels per image and map them to source pixels;
        `detection` replaces `self.detection` for this batch."""
        start = time.perf_counter()
        count = len(inferred.letterboxes)
        detections, labels = self._decode(inferred.outputs, count, detection or self.detection)
        scored = None
        if self.scoring is not None:
            scored = self._decode(inferred.scoring_outputs, count, self.scoring)[0]
        seconds = {**inferred.seconds, "postprocess": time.perf_counter() - start}
        timings = {stage: value * 1000.0 / count for stage, value in seconds.items()}
        return [
            FrameResult(
                detections=detections[index].to_source(letterbox),
                names=self.class_names,
                labels=labels[index],
                seg_names=self.seg_names,
                letterbox=letterbox,
                mask_resolution=self.mask_resolution,
                scored=None if scored is None else scored[index].to_source(letterbox),
                timings=dict(timings),
            )
            for index, letterbox in enumerate(inferred.letterboxes)
        ]

    def __call__(
        self, images: np.ndarray | Sequence[np.ndarray], color: str = "bgr"
    ) -> FrameResult | list[FrameResult]:
        """One HxWx3 uint8 image -> one result; a list (or BxHxWx3 array) -> a list."""
        if isinstance(images, np.ndarray) and images.ndim != 4:
            return self.run_batch([images], color)[0]
        return self.run_batch(list(images), color)

    def _forward(
        self, batch: np.ndarray, settings: DetectionSettings
    ) -> NetworkOutputs | EndToEndOutputs:
        """Run the runtime; an end-to-end one also gets the thresholds."""
        if self.end_to_end:
            return self.runtime(batch, settings)  # type: ignore[call-arg]
        return self.runtime(batch)  # type: ignore[call-arg]

    def _decode(
        self, outputs: NetworkOutputs | EndToEndOutputs, count: int, settings: DetectionSettings
    ) -> tuple[list[_NetworkDetections], list[np.ndarray]]:
        """Per image: detections in network pixels and bool label maps [C, H, W]."""
        if isinstance(outputs, EndToEndOutputs):
            detections, labels = [], []
            for index in range(count):
                rows = outputs.image_ids == index
                found = _NetworkDetections(
                    outputs.boxes[rows], outputs.scores[rows], outputs.class_ids[rows]
                )
                label = outputs.seg_labels[index]
                if self.config.seg_mode == "multiclass":
                    label = class_maps(label, len(self.seg_names))
                detections.append(found)
                labels.append(label.view(bool))
            return detections, labels
        regression, classification, segmentation = outputs
        detections = [
            _NetworkDetections(
                *select_detections(
                    regression[i], classification[i], self.anchors, self.input_size, settings
                )
            )
            for i in range(count)
        ]
        labels = [segmentation_labels(segmentation[i], self.config.seg_mode) for i in range(count)]
        return detections, labels
