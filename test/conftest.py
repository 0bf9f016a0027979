"""Shared fixtures (shipped test data, small real checkpoints written to disk) and the test tiers:
every test is marked `unit`, `ros` or `process` by the folder it lives in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from testdata import DASHCAM

from hybridnets_core import HybridNets, ModelConfig
from hybridnets_core.media import read_image
from hybridnets_core.model.checkpoint import save_checkpoint

SMALL_INPUT = (256, 384)
TIERS = ("unit", "ros", "process")  # test/<tier>/; the markers are registered in setup.cfg


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier, the folder under test/ it lives in (`-m unit` etc.)."""
    here = Path(__file__).parent
    for item in items:
        if not item.path.is_relative_to(here):
            continue  # a test outside this folder is not ours to classify
        folder = item.path.relative_to(here).parts[0]
        if folder not in TIERS:
            raise pytest.UsageError(
                f"{item.nodeid} is in no tier: test files live in test/unit (no ROS), "
                "test/ros (ROS 2 in-process) or test/process (node processes); move it there"
            )
        item.add_marker(getattr(pytest.mark, folder))


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


@pytest.fixture(scope="module")
def ros(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real rclpy session per node-test module, with a private domain and log folder
    (ROS is imported here, after the module's require_ros())."""
    from ros_fixtures import ros_environment
    from ros_session import Ros

    with ros_environment(tmp_path_factory.mktemp("ros_log")):
        session = Ros()
        yield session
        session.close()


@pytest.fixture
def private_ros(tmp_path: Path) -> Iterator[Any]:
    """A real rclpy session in a DDS domain of its own (ros_fixtures.private_domain_id), for a
    test that starts node processes; the processes inherit the domain."""
    from ros_fixtures import private_domain_id, ros_environment
    from ros_session import Ros

    with ros_environment(tmp_path / "ros_log", private_domain_id()):
        session = Ros()
        yield session
        session.close()


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random coef-0 weights whose masks cover every pixel (ros_fixtures.make_weights)."""
    from ros_fixtures import make_weights

    return make_weights(tmp_path_factory.mktemp("weights") / "full_masks.pth")
