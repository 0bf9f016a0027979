"""The launch file's argument handling (plain Python: the launch packages are imported only
when ros2 launch builds the description)."""

from __future__ import annotations

from pathlib import Path

from testdata import REPO, load_launch_file


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
    profile = {"FASTDDS_DEFAULT_PROFILES_FILE": "/share/config/fastdds_large_images.xml"}
    assert launch.node_environment("/share/config", {}) == profile  # more in test_dds_visibility


def test_the_launch_file_gives_the_node_the_profile_unless_one_was_exported() -> None:
    launch = load_launch_file()
    profile = str(REPO / "config" / launch.PROFILE)
    assert Path(profile).is_file()
    kilted = launch.node_environment(str(REPO / "config"), {"ROS_DISTRO": "kilted"})
    assert kilted == {"FASTDDS_DEFAULT_PROFILES_FILE": profile}
    jazzy = launch.node_environment(str(REPO / "config"), {"ROS_DISTRO": "jazzy"})
    assert jazzy == {
        "FASTDDS_DEFAULT_PROFILES_FILE": profile,
        "FASTRTPS_DEFAULT_PROFILES_FILE": profile,
    }
    own = {"ROS_DISTRO": "kilted", "FASTDDS_DEFAULT_PROFILES_FILE": "/etc/mine.xml"}
    assert launch.node_environment(str(REPO / "config"), own) == {}


def test_the_autostart_argument_reaches_the_node_only_when_given() -> None:
    launch = load_launch_file()
    defaults = {name: default for name, (default, _) in launch.ARGUMENTS.items()}
    assert launch.parameter_layers(defaults, "/p.yaml") == ["/p.yaml"]
    given = {**defaults, "autostart": "false"}
    assert launch.parameter_layers(given, "/p.yaml") == ["/p.yaml", {"autostart": False}]
