"""Paths of the test inputs shipped in test/data and of the repository, the node's parameter
file read as ROS names, and the launch file loaded as plain Python (the launch packages are
imported only when ros2 launch builds it)."""

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

TEST_DATA = Path(__file__).parent / "data"
DASHCAM = TEST_DATA / "dashcam"
SPEC_FILE = TEST_DATA / "hybridnets_state_dict_spec.json"
REPO = Path(__file__).resolve().parent.parent
NODE_CONFIG = REPO / "config" / "hybridnets.yaml"


def load_launch_file() -> ModuleType:
    """launch/hybridnets.launch.py as a module."""
    spec = importlib.util.spec_from_file_location(
        "hybridnets_launch", REPO / "launch" / "hybridnets.launch.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config_parameters() -> dict[str, Any]:
    """config/hybridnets.yaml's parameters by ROS name (nested keys joined with dots), lists
    as tuples."""
    flat: dict[str, Any] = {}

    def walk(tree: dict[str, Any], prefix: str) -> None:
        for key, value in tree.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = tuple(value) if isinstance(value, list) else value

    walk(yaml.safe_load(NODE_CONFIG.read_text())["/**"]["ros__parameters"], "")
    return flat
