"""Create a runtime by backend name: 'torch' for checkpoints, 'onnxruntime' for exported .onnx."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError, missing_torch

if TYPE_CHECKING:
    from ..model.config import ModelConfig
    from .base import Runtime
    from .onnx_runtime import OnnxOptions
    from .threads import ThreadSettings

BACKENDS = ("torch", "onnxruntime")
ONNX_SUFFIX = ".onnx"


def create_runtime(
    backend: str,
    weights: str | Path | None = None,
    device: str = "cpu",
    half: bool = False,
    onnx_options: OnnxOptions | None = None,
    threads: ThreadSettings | None = None,
) -> tuple[Runtime, ModelConfig]:
    """The runtime and network config for `weights` (None: the built-in model, torch only).

    `threads` sets the CPU threads and spinning of either runtime (None: the libraries' own
    defaults); for torch it must come before torch is first imported to stop OpenMP spinning.
    """
    is_onnx = weights is not None and Path(weights).suffix.lower() == ONNX_SUFFIX
    if backend == "torch":
        if is_onnx:
            raise ConfigError(f"{weights} is an ONNX file: use backend 'onnxruntime' for it")
        if onnx_options is not None:
            raise ConfigError("ONNX Runtime options (threads, TensorRT) need backend 'onnxruntime'")
        try:  # torch is imported only when a checkpoint is loaded
            if threads is not None:  # before anything imports torch
                from .threads import use_torch_threads

                use_torch_threads(threads)
            from ..model.checkpoint import load_model
            from .torch_runtime import TorchRuntime
        except ImportError as exc:
            raise missing_torch("backend 'torch'", exc) from None
        model, config = load_model(weights)
        return TorchRuntime(model, config, device=device, half=half), config
    if backend == "onnxruntime":
        if not is_onnx:
            raise ConfigError(
                f"backend 'onnxruntime' needs an .onnx file, got {weights or 'no weights'}; "
                "write one with `hybridnets export -w WEIGHTS`"
            )
        try:
            from .onnx_runtime import OnnxOptions, load_onnx_runtime
        except ImportError as exc:
            raise ConfigError(
                f"backend 'onnxruntime' needs onnx and onnxruntime ({exc}); pip install "
                "'hybridnets_ros[onnx]' (CPU) or 'hybridnets_ros[gpu]' (CUDA/TensorRT)"
            ) from exc
        if threads is not None:
            onnx_options = replace(
                onnx_options or OnnxOptions(), threads=threads.count, spinning=threads.spin
            )
        runtime = load_onnx_runtime(weights, device=device, half=half, options=onnx_options)
        return runtime, runtime.config
    raise ConfigError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
