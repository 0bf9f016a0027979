"""Paths of the test inputs shipped in test/data and of the repository, and the launch file
loaded as plain Python (the launch packages are imported only when ros2 launch builds it)."""

import importlib.util
from pathlib import Path
from types import ModuleType

TEST_DATA = Path(__file__).parent / "data"
DASHCAM = TEST_DATA / "dashcam"
SPEC_FILE = TEST_DATA / "hybridnets_state_dict_spec.json"
REPO = Path(__file__).resolve().parent.parent


def load_launch_file() -> ModuleType:
    """launch/hybridnets.launch.py as a module."""
    spec = importlib.util.spec_from_file_location(
        "hybridnets_launch", REPO / "launch" / "hybridnets.launch.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
