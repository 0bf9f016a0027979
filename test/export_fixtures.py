"""The small test checkpoint exported to ONNX once per session, raw and end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hybridnets_core import HybridNets, ModelConfig
from hybridnets_core.cli.main import main
from hybridnets_core.model.checkpoint import save_checkpoint

SMALL_HW = ("--height", "256", "--width", "384")


def export_cli(checkpoint: Path, output: Path, *extra: str) -> Path:
    """Run `hybridnets export` and return the file it wrote."""
    assert main(["export", "-w", str(checkpoint), *SMALL_HW, "-o", str(output), *extra]) == 0
    return output


@pytest.fixture(scope="session")
def varied_checkpoint(tmp_path_factory: pytest.TempPathFactory, small_config: ModelConfig) -> Path:
    """A random network whose class scores spread out (an untrained head scores every anchor
    about the same, and equal scores leave NMS free to keep either box)."""
    torch.manual_seed(1)
    model = HybridNets.from_config(small_config).eval()
    with torch.no_grad():
        model.classifier.header.pointwise_conv.conv.weight.mul_(100.0)
    path = tmp_path_factory.mktemp("varied") / "varied.pth"
    save_checkpoint(path, model, small_config)
    return path


@pytest.fixture(scope="session")
def raw_export(tmp_path_factory: pytest.TempPathFactory, varied_checkpoint: Path) -> Path:
    """Raw graph, batch 1, as the official export names it."""
    return export_cli(varied_checkpoint, tmp_path_factory.mktemp("raw") / "small.onnx")


@pytest.fixture(scope="session")
def end2end_export(tmp_path_factory: pytest.TempPathFactory, varied_checkpoint: Path) -> Path:
    """Decoding, NMS and seg labels inside the graph, with a dynamic batch axis."""
    folder = tmp_path_factory.mktemp("end2end")
    return export_cli(varied_checkpoint, folder / "small_e2e.onnx", "--end2end", "--dynamic-batch")
