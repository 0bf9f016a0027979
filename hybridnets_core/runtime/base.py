"""The one runtime contract: a float32 NCHW batch and detection thresholds in, results out.

Every backend (torch, a raw ONNX export, an end-to-end ONNX export) is one class with the
attributes and the `run` call of `Runtime`; the Pipeline uses nothing else. Raw graphs decode
their outputs when the Pipeline asks for them (so decoding and NMS stay in its CPU stage),
end-to-end graphs apply the thresholds inside the graph. Neither torch nor onnx is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from ..model.config import ModelConfig
    from ..settings import DetectionSettings


@dataclass(frozen=True)
class NetworkDetections:
    """One image's detections in network pixels: boxes float32 [N, 4] (x1, y1, x2, y2),
    scores float32 [N], class ids int64 [N], highest score first."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray


class RuntimeOutputs(Protocol):
    """A batch's results as a runtime returns them, read by the Pipeline in one place."""

    def detections(self, which: int) -> list[NetworkDetections]:
        """Per image, the detections at `thresholds[which]` of the `run` call."""
        ...

    def seg_labels(self) -> np.ndarray:
        """uint8 labels: a class map [B, H, W] (multiclass, 0 = background) or 0/1 maps
        [B, C, H, W] (binary, multilabel), at network resolution."""
        ...


class Runtime(Protocol):
    """Anything that runs the network on a float32 [B, 3, H, W] batch.

    `provider` is the ONNX Runtime execution provider (None for torch), `engine_note` how its
    TensorRT engine came to be (from the cache or built, None off TensorRT); `fixed_input_size`
    the only (H, W) the runtime accepts, or None for any multiple of the stride; `end_to_end`
    says the graph applies the thresholds itself, so each set in `thresholds` costs a run;
    `uint8_input` that it takes uint8 [B, H, W, 3] RGB frames instead and normalises them itself.
    """

    name: str
    device: str
    provider: str | None
    engine_note: str | None
    config: ModelConfig
    fixed_input_size: tuple[int, int] | None
    end_to_end: bool
    uint8_input: bool

    def run(self, batch: np.ndarray, thresholds: Sequence[DetectionSettings]) -> RuntimeOutputs:
        """Run the batch; the outputs hold detections for each of `thresholds`, in order."""
        ...


@dataclass(frozen=True)
class DecodedOutputs:
    """Outputs that are final already (an end-to-end graph): one detection list per set."""

    per_thresholds: list[list[NetworkDetections]]
    labels: np.ndarray

    def detections(self, which: int) -> list[NetworkDetections]:
        return self.per_thresholds[which]

    def seg_labels(self) -> np.ndarray:
        return self.labels
