"""A tiny synthetic drive and the built-in model with one head perturbed, for the agreement
and export-gate tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hybridnets_core.cli.main import main
from hybridnets_core.model.checkpoint import default_weights_path, load_model, save_checkpoint

FRAMES, SIZE, TOPIC = 5, "320x180", "/camera/image_raw"


def run_cli(*args: object) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def tiny_drive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five 320x180 frames of a synthetic drive (raw images, camera_info)."""
    bag = tmp_path_factory.mktemp("drive") / "drive"
    assert run_cli("synth-bag", "--out", bag, "--frames", FRAMES, "--size", SIZE,
                   "--seed", 1) == 0  # fmt: skip
    return bag


def perturbed_checkpoint(path: Path, head: str, scale: float = 0.5) -> Path:
    """The built-in model with Gaussian noise (scale x each tensor's std) on one top-level
    module's weights, e.g. 'classifier' or 'segmentation_head'."""
    model, config = load_model(default_weights_path())
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in getattr(model, head).parameters():
            if tensor.ndim > 1:  # convolution kernels, not biases or norms
                noise = torch.randn(tensor.shape, generator=generator)
                tensor.add_(noise * scale * tensor.std())
    save_checkpoint(path, model, config)
    return path
