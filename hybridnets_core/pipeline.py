"""The one inference path from uint8 pixels to results: preprocess, runtime, postprocess.

The node, the CLIs, bag tools and benchmarks all use `Pipeline`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .anchors import generate_anchors
from .backends import create_runtime
from .config import ModelConfig, check_input_size
from .errors import ConfigError, InputError
from .letterbox import Letterbox
from .model import HybridNets
from .postprocess import (
    DetectionSettings,
    class_maps,
    masks_to_image,
    segmentation_labels,
    select_detections,
)
from .results import PerceptionResult
from .runtime import EndToEndOutputs, EndToEndRuntime, NetworkOutputs, Runtime, TorchRuntime

if TYPE_CHECKING:
    from .runtime_onnx import OnnxOptions

COLOR_ORDERS = ("bgr", "rgb")
MASK_RESOLUTIONS = ("source", "network")
MIN_IMAGE_SIDE = 2


def validate_image(image: object) -> np.ndarray:
    """Return the image if it is a usable HxWx3 uint8 array, else raise a one-line InputError."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(
            f"image dtype is {image.dtype}, expected uint8 (0-255); convert with "
            "np.clip(img, 0, 255).astype(np.uint8)"
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(
            f"image shape is {image.shape}, expected HxWx3 colour; convert grayscale or "
            "4-channel images with cv2.cvtColor first"
        )
    if min(image.shape[:2]) < MIN_IMAGE_SIDE:
        raise InputError(
            f"image is {image.shape[1]}x{image.shape[0]} pixels; need at least "
            f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}"
        )
    return image


class Pipeline:
    """Letterbox + normalise, run a runtime, decode boxes/NMS and masks back to source pixels.

    With an end-to-end runtime the graph already decodes and suppresses; the Pipeline then only
    maps its boxes and masks back through the letterbox.
    """

    def __init__(
        self,
        runtime: Runtime | EndToEndRuntime,
        config: ModelConfig,
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.3,
        max_detections: int = 100,
        mask_resolution: str = "source",
        input_size: tuple[int, int] | None = None,
    ) -> None:
        self.runtime = runtime
        self.config = config
        self.settings = DetectionSettings()
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold
        self.max_detections = max_detections
        if mask_resolution not in MASK_RESOLUTIONS:
            raise ConfigError(f"mask_resolution must be one of {MASK_RESOLUTIONS}")
        self.mask_resolution = mask_resolution
        self.input_size = tuple(input_size or config.input_size)
        check_input_size(self.input_size, config.max_stride)
        fixed = getattr(runtime, "fixed_input_size", None)
        if fixed is not None and tuple(fixed) != self.input_size:
            raise ConfigError(
                f"this {runtime.name} model was exported for {fixed[1]}x{fixed[0]} (WxH), not "
                f"{self.input_size[1]}x{self.input_size[0]}; export it again with --width/--height"
            )
        self.anchors = generate_anchors(
            *self.input_size,
            strides=config.strides,
            scales=config.anchor_scales,
            ratios=config.anchor_ratios,
        )
        std = np.asarray(config.std, dtype=np.float32) * 255.0
        self._scale = 1.0 / std
        self._shift = np.asarray(config.mean, dtype=np.float32) * 255.0 / std

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
    def backend_name(self) -> str:
        return self.runtime.name

    @property
    def device(self) -> str:
        return self.runtime.device

    @property
    def class_names(self) -> list[str]:
        return self.config.obj_list

    @property
    def seg_names(self) -> list[str]:
        return self.config.seg_list

    @property
    def conf_threshold(self) -> float:
        return self.settings.conf_threshold

    @conf_threshold.setter
    def conf_threshold(self, value: float) -> None:
        self.settings.conf_threshold = _fraction("conf_threshold", value)

    @property
    def iou_threshold(self) -> float:
        return self.settings.iou_threshold

    @iou_threshold.setter
    def iou_threshold(self, value: float) -> None:
        self.settings.iou_threshold = _fraction("iou_threshold", value)

    @property
    def max_detections(self) -> int:
        return self.settings.max_detections

    @max_detections.setter
    def max_detections(self, value: int) -> None:
        if int(value) != value or value < 1:
            raise ConfigError(f"max_detections must be a positive integer, got {value!r}")
        self.settings.max_detections = int(value)

    def preprocess(
        self, images: Sequence[np.ndarray], color: str
    ) -> tuple[np.ndarray, list[Letterbox]]:
        """Letterbox each image and normalise into one float32 RGB NCHW batch."""
        if color not in COLOR_ORDERS:
            raise InputError(f"color must be 'bgr' or 'rgb', got {color!r}")
        batch = np.empty((len(images), 3, *self.input_size), dtype=np.float32)
        letterboxes = []
        for index, image in enumerate(images):
            image = validate_image(image)
            letterbox = Letterbox.fit(image.shape[:2], self.input_size)
            padded = letterbox.apply(image)
            if color == "bgr":
                padded = padded[..., ::-1]
            normalised = padded.astype(np.float32) * self._scale - self._shift
            batch[index] = normalised.transpose(2, 0, 1)
            letterboxes.append(letterbox)
        return batch, letterboxes

    @property
    def end_to_end(self) -> bool:
        """True when the runtime returns final detections (an end-to-end ONNX export)."""
        return bool(getattr(self.runtime, "end_to_end", False))

    def forward(self, batch: np.ndarray) -> NetworkOutputs | EndToEndOutputs:
        """Run the runtime; an end-to-end one also gets the current thresholds."""
        if self.end_to_end:
            return self.runtime(batch, self.settings)  # type: ignore[call-arg]
        return self.runtime(batch)  # type: ignore[call-arg]

    def _network_results(
        self, outputs: NetworkOutputs | EndToEndOutputs, index: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (network pixels), scores, class ids and per-class label maps of one image."""
        if isinstance(outputs, EndToEndOutputs):
            rows = outputs.image_ids == index
            labels = outputs.seg_labels[index]
            if self.config.seg_mode == "multiclass":
                labels = class_maps(labels, len(self.seg_names))
            return (
                outputs.boxes[rows],
                outputs.scores[rows],
                outputs.class_ids[rows],
                labels.view(bool),
            )
        regression, classification, segmentation = outputs
        boxes, scores, class_ids = select_detections(
            regression[index], classification[index], self.anchors, self.input_size, self.settings
        )
        return (
            boxes,
            scores,
            class_ids,
            segmentation_labels(segmentation[index], self.config.seg_mode),
        )

    def postprocess(
        self, outputs: NetworkOutputs | EndToEndOutputs, letterboxes: list[Letterbox]
    ) -> list[PerceptionResult]:
        """Detections and masks per image, mapped from network to source pixels."""
        results = []
        for index, letterbox in enumerate(letterboxes):
            boxes, scores, class_ids, labels = self._network_results(outputs, index)
            masks = masks_to_image(
                labels, self.seg_names, letterbox, to_source=self.mask_resolution == "source"
            )
            results.append(
                PerceptionResult(
                    boxes=letterbox.boxes_to_source(boxes),
                    scores=scores,
                    class_ids=class_ids,
                    class_names=[self.class_names[i] for i in class_ids],
                    masks=masks,
                    image_size=letterbox.source_size,
                )
            )
        return results

    def run_batch(self, images: Sequence[np.ndarray], color: str = "bgr") -> list[PerceptionResult]:
        """Process several images in one forward pass; timings are per batch."""
        if len(images) == 0:
            raise InputError("no images given")
        start = time.perf_counter()
        batch, letterboxes = self.preprocess(images, color)
        preprocessed = time.perf_counter()
        outputs = self.forward(batch)
        forwarded = time.perf_counter()
        results = self.postprocess(outputs, letterboxes)
        finished = time.perf_counter()
        timings = {
            "preprocess": (preprocessed - start) * 1000,
            "forward": (forwarded - preprocessed) * 1000,
            "postprocess": (finished - forwarded) * 1000,
        }
        for result in results:
            result.timings = dict(timings)
        return results

    def __call__(
        self, images: np.ndarray | Sequence[np.ndarray], color: str = "bgr"
    ) -> PerceptionResult | list[PerceptionResult]:
        """One HxWx3 uint8 image -> one result; a list (or BxHxWx3 array) -> a list."""
        if isinstance(images, np.ndarray) and images.ndim != 4:
            return self.run_batch([images], color)[0]
        return self.run_batch(list(images), color)


def _fraction(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be within [0, 1], got {value}")
    return value
