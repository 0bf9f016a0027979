"""Inference runtimes: run the network on a normalised NCHW batch and return numpy outputs."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from .errors import ConfigError
from .model import HybridNets

NetworkOutputs = tuple[np.ndarray, np.ndarray, np.ndarray]


class Runtime(Protocol):
    """Anything that maps a float32 [B, 3, H, W] batch to (regression, classification, seg)."""

    name: str
    device: str

    def __call__(self, batch: np.ndarray) -> NetworkOutputs: ...


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
    """Eager PyTorch on CPU or CUDA; fp16 and channels_last on CUDA."""

    name = "torch"

    def __init__(self, model: HybridNets, device: str = "cpu", half: bool = False) -> None:
        self.torch_device = resolve_device(device)
        self.device = str(self.torch_device)
        if half and self.torch_device.type != "cuda":
            raise ConfigError(
                "half precision needs a CUDA device; drop --half or use --device cuda"
            )
        self.dtype = torch.float16 if half else torch.float32
        self.memory_format = (
            torch.channels_last if self.torch_device.type == "cuda" else torch.contiguous_format
        )
        self.model = model.eval().to(
            self.torch_device, self.dtype, memory_format=self.memory_format
        )

    def __call__(self, batch: np.ndarray) -> NetworkOutputs:
        tensor = torch.from_numpy(batch).to(self.torch_device, self.dtype, non_blocking=True)
        tensor = tensor.contiguous(memory_format=self.memory_format)
        with torch.inference_mode():
            outputs = self.model(tensor)
        return tuple(t.float().cpu().numpy() for t in outputs)  # type: ignore[return-value]
