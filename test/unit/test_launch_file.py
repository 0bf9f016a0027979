"""The launch file's argument handling (plain Python: the launch packages are imported only
when ros2 launch builds the description)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def load_launch_file() -> Any:
    spec = importlib.util.spec_from_file_location(
        "hybridnets_launch", REPO / "launch" / "hybridnets.launch.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launch_layers_only_given_arguments_over_the_params_file() -> None:
    launch = load_launch_file()
    defaults = {name: default for name, (default, _) in launch.ARGUMENTS.items()}
    assert launch.parameter_layers(defaults, "/share/hybridnets.yaml") == [
        "/share/hybridnets.yaml"
    ]  # a params file with input_mode: compressed keeps it
    given = {**defaults, "params_file": "/mine.yaml", "input_mode": "compressed", "device": "cuda"}
    given["use_sim_time"] = "True"
    assert launch.parameter_layers(given, "/share/hybridnets.yaml") == [
        "/mine.yaml",
        {"device": "cuda", "input_mode": "compressed", "use_sim_time": True},
    ]
    assert ("image/compressed", "/camera/image_raw/compressed") in launch.remappings(defaults)
    assert launch.NODE_ENVIRONMENT == {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}
