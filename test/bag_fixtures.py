"""A synthetic drive as a rosbag2 file plus its labelled dataset, and random weights of the
synthetic project, for the bag tests of both tiers (unit: offline tools; ros: the live node)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hybridnets_core import HybridNets, ModelConfig
from hybridnets_core.bag.reader import BagReader
from hybridnets_core.cli.main import main
from hybridnets_core.model.checkpoint import save_checkpoint

FRAMES, FPS, SIZE = 8, 10.0, (640, 360)
NET = "384x256"
NODE = "/hybridnets_node"
RAW, COMPRESSED = "/camera/image_raw", "/camera/image_raw/compressed"


def run_cli(*args: object) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random coef-0 network with the synthetic project's classes (car; road, lane)."""
    torch.manual_seed(0)
    config = ModelConfig(compound_coef=0, input_size=(256, 384))
    path = tmp_path_factory.mktemp("weights") / "coef0.pth"
    save_checkpoint(path, HybridNets.from_config(config).eval(), config)
    return path


def synth_drive(root: Path, *options: str) -> tuple[Path, Path]:
    """A synthetic bag plus the same frames as a labelled dataset folder."""
    bag, dataset = root / "drive", root / "dataset"
    assert run_cli("synth-bag", "--out", bag, "--frames", FRAMES, "--fps", FPS, "--seed", 3,
                   "--dataset", dataset, *options) == 0  # fmt: skip
    return bag, dataset


@pytest.fixture(scope="module")
def raw_drive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return synth_drive(tmp_path_factory.mktemp("raw"))


def read_all(path: Path) -> dict[str, list[tuple[int, object]]]:
    """Every message of a bag by topic: (log time, message)."""
    with BagReader(path) as bag:
        found: dict[str, list[tuple[int, object]]] = {topic: [] for topic in bag.topics}
        for topic, log_ns, msg in bag.messages(list(bag.topics)):
            found[topic].append((log_ns, msg))
    return found
