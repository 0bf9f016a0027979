"""Shared fixtures: shipped test data and small real checkpoints written to disk."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from testdata import DASHCAM

from hybridnets_core import HybridNets, ModelConfig
from hybridnets_core.checkpoint import save_checkpoint
from hybridnets_core.media import read_image

SMALL_INPUT = (256, 384)


@pytest.fixture(scope="session")
def small_config() -> ModelConfig:
    """Coefficient 0 at 384x256: the fastest real network, for pipeline and CLI tests."""
    return ModelConfig(compound_coef=0, obj_list=["car", "truck"], input_size=SMALL_INPUT)


@pytest.fixture(scope="session")
def small_model(small_config: ModelConfig) -> HybridNets:
    torch.manual_seed(0)
    return HybridNets.from_config(small_config).eval()


@pytest.fixture(scope="session")
def small_checkpoint(
    tmp_path_factory: pytest.TempPathFactory, small_model: HybridNets, small_config: ModelConfig
) -> Path:
    path = tmp_path_factory.mktemp("weights") / "small.pth"
    save_checkpoint(path, small_model, small_config)
    return path


@pytest.fixture(scope="session")
def dashcam_paths() -> list[Path]:
    return sorted(DASHCAM.glob("*.jpg"))


@pytest.fixture(scope="session")
def dashcam_frame(dashcam_paths: list[Path]):
    return read_image(dashcam_paths[0])
