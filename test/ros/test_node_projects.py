"""The node reads project files with the core's hardened loader (hybridnets_ros.params needs
the ROS parameter messages)."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

import pytest
from dataset_fixtures import alias_bomb
from ros_fixtures import require_ros

require_ros()

from hybridnets_core.errors import ConfigError


def test_node_reads_projects_with_the_same_loader(tmp_path) -> None:
    from hybridnets_ros.params import ModelSource, class_names

    source = ModelSource(project=str(alias_bomb(tmp_path / "bomb.yaml")))
    with pytest.raises(ConfigError, match="expands to more than"):
        class_names(source, ["car"])
