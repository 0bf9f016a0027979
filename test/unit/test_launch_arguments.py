"""The launch file declares Nav2's usual arguments beside its own, and use_respawn reaches the
node action's respawn options (plain Python, as test_launch_file.py)."""

from __future__ import annotations

from testdata import load_launch_file

NAV2_ARGUMENTS = (
    "namespace",
    "use_sim_time",
    "autostart",
    "params_file",
    "use_respawn",
    "log_level",
)


def test_nav2s_usual_arguments_are_declared_and_described() -> None:
    launch = load_launch_file()
    for name in NAV2_ARGUMENTS:
        assert name in launch.ARGUMENTS, name
        assert launch.ARGUMENTS[name][1].strip(), f"{name} has no description"
    assert launch.ARGUMENTS["use_respawn"][0] == "false"
    assert launch.ARGUMENTS["log_level"][0] == "info"


def test_use_respawn_turns_respawning_on_only_when_true() -> None:
    launch = load_launch_file()
    defaults = {name: default for name, (default, _) in launch.ARGUMENTS.items()}
    assert launch.respawn(defaults) == {"respawn": False, "respawn_delay": 2.0}
    assert launch.respawn({**defaults, "use_respawn": "True"})["respawn"] is True
    assert launch.respawn({**defaults, "use_respawn": "no"})["respawn"] is False
    assert launch.parameter_layers({**defaults, "use_respawn": "true"}, "/p.yaml") == ["/p.yaml"]
