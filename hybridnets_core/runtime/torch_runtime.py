"""Eager PyTorch runtime and device checks (the only runtime module that imports torch)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch

from ..errors import ConfigError
from ..model import HybridNets
from ..model.config import ModelConfig
from ..model.inference import optimise_for_inference
from ..settings import DetectionSettings
from .raw_outputs import NetworkOutputs, RawOutputs


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
    folding removes separate BatchNorm and padding passes. `as_trained` keeps the network as
    trained and runs it the way the reference implementation does (BatchNorm and padding as
    separate passes, NCHW): the baseline `hybridnets bench --backend torch-reference` times.
    """

    name = "torch"
    provider = None
    engine_note = None
    fixed_input_size = None
    end_to_end = False
    uint8_input = False

    def __init__(
        self,
        model: HybridNets,
        config: ModelConfig,
        device: str = "cpu",
        half: bool = False,
        as_trained: bool = False,
    ) -> None:
        self.config = config
        self.torch_device = resolve_device(device)
        self.device = str(self.torch_device)
        if half and self.torch_device.type != "cuda":
            raise ConfigError(
                "half precision needs a CUDA device; drop --half or use --device cuda"
            )
        self.dtype = torch.float16 if half else torch.float32
        self.memory_format = torch.contiguous_format if as_trained else torch.channels_last
        network = copy.deepcopy(model).eval() if as_trained else optimise_for_inference(model)
        self.model = network.to(self.torch_device, self.dtype, memory_format=self.memory_format)

    def network(self, batch: np.ndarray) -> NetworkOutputs:
        """The raw (regression, classification, segmentation) outputs as float32 numpy."""
        tensor = torch.from_numpy(batch).to(self.torch_device, self.dtype, non_blocking=True)
        tensor = tensor.contiguous(memory_format=self.memory_format)
        with torch.inference_mode():
            regression, classification, segmentation = self.model(tensor)
        return (
            regression.float().cpu().numpy(),
            classification.float().cpu().numpy(),
            segmentation.float().cpu().numpy(),
        )

    def run(self, batch: np.ndarray, thresholds: Sequence[DetectionSettings]) -> RawOutputs:
        return RawOutputs(self.network(batch), self.config, thresholds)
