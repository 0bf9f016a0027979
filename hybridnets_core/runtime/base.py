"""Inference runtimes: run the network on a normalised NCHW batch and return numpy outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from ..errors import ConfigError
from ..model import HybridNets
from ..model.inference import optimise_for_inference

if TYPE_CHECKING:
    from ..settings import DetectionSettings

NetworkOutputs = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class EndToEndOutputs:
    """Final detections of a whole batch (network pixels) and segmentation labels.

    Row i of boxes/scores/class_ids belongs to image `image_ids[i]`; rows are sorted by image,
    then score. seg_labels is a class map [B, H, W] (multiclass, 0 = background) or 0/1 maps
    [B, C, H, W] (binary, multilabel).
    """

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    image_ids: np.ndarray
    seg_labels: np.ndarray


class Runtime(Protocol):
    """Anything that maps a float32 [B, 3, H, W] batch to (regression, classification, seg).

    `fixed_input_size` is the only (H, W) it accepts, or None for any multiple of the stride.
    """

    name: str
    device: str
    end_to_end: bool
    fixed_input_size: tuple[int, int] | None

    def __call__(self, batch: np.ndarray) -> NetworkOutputs: ...


class EndToEndRuntime(Protocol):
    """A runtime whose graph already decodes boxes, runs NMS and labels pixels."""

    name: str
    device: str
    end_to_end: bool
    fixed_input_size: tuple[int, int] | None

    def __call__(self, batch: np.ndarray, settings: DetectionSettings) -> EndToEndOutputs: ...


def resolve_device(device: str) -> torch.device:
    """Validate a device string ('cpu', 'cuda', 'cuda:1') against what this machine has."""
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {device!r}: use 'cpu' or 'cuda[:N]'") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {device!r} requested but CUDA is not available; use --device cpu"
        )
    if resolved.type not in ("cpu", "cuda"):
        raise ConfigError(f"unsupported device {device!r}: use 'cpu' or 'cuda[:N]'")
    return resolved


class TorchRuntime:
    """Eager PyTorch on CPU or CUDA: a BatchNorm-folded copy in channels_last; fp16 on CUDA.

    channels_last lets oneDNN/cuDNN run convolutions without reordering every activation, and
    folding removes separate BatchNorm and padding passes; together about 1.5x on a 2-core CPU.
    """

    name = "torch"
    end_to_end = False
    fixed_input_size = None

    def __init__(self, model: HybridNets, device: str = "cpu", half: bool = False) -> None:
        self.torch_device = resolve_device(device)
        self.device = str(self.torch_device)
        if half and self.torch_device.type != "cuda":
            raise ConfigError(
                "half precision needs a CUDA device; drop --half or use --device cuda"
            )
        self.dtype = torch.float16 if half else torch.float32
        self.memory_format = torch.channels_last
        self.model = optimise_for_inference(model).to(
            self.torch_device, self.dtype, memory_format=self.memory_format
        )

    def __call__(self, batch: np.ndarray) -> NetworkOutputs:
        tensor = torch.from_numpy(batch).to(self.torch_device, self.dtype, non_blocking=True)
        tensor = tensor.contiguous(memory_format=self.memory_format)
        with torch.inference_mode():
            outputs = self.model(tensor)
        return tuple(t.float().cpu().numpy() for t in outputs)  # type: ignore[return-value]
