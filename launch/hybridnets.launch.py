"""Launch hybridnets_node with a parameter file, remapped camera topics and a Fast DDS profile
for large images.

ros2 launch hybridnets_ros hybridnets.launch.py image:=/camera/image_raw device:=cuda

Only the arguments given on the command line are layered over the parameter file, so a
params_file with `input_mode: compressed` keeps it unless `input_mode:=...` is given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

ARGUMENTS = {
    "params_file": ("", "Parameter file (every node parameter is documented in it); empty: "
                    "the installed config/hybridnets.yaml."),
    "weights": ("", "Checkpoint or .onnx file; empty: as in params_file (the built-in model)."),
    "backend": ("", "torch or onnxruntime; empty: as in params_file."),
    "device": ("", "cpu, cuda or cuda:N; empty: as in params_file."),
    "input_mode": ("", "raw (sensor_msgs/Image) or compressed; empty: as in params_file."),
    "image": ("/camera/image_raw", "Raw image topic; compressed mode reads <image>/compressed."),
    "camera_info": ("/camera/camera_info", "CameraInfo topic, used for the ground outputs."),
    "namespace": ("", "Namespace of the node and so of its ~/ outputs."),
    "use_sim_time": ("", "true when replaying bags (/clock time); empty: as in params_file."),
    "log_level": ("info", "Logging level of the node (debug, info, warn, error)."),
    "autostart": ("", "false: stay unconfigured for a lifecycle manager; empty: as in params_file "
                  "(default true: configure and activate at start)."),
    "use_respawn": ("false", "true: start the node again, after 2 s, whenever it exits."),
}  # fmt: skip
OVERRIDES = ("weights", "backend", "device", "input_mode")
BOOLEANS = ("use_sim_time", "autostart")
RESPAWN_DELAY_S = 2.0  # as Nav2's launch files
# Fast DDS profile that sizes shared memory for raw camera images (docs/node.md, "Large images
# between processes"). Unlike FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA it keeps the default
# transports, so ros2 node / param / lifecycle from a plain terminal still reach the node.
PROFILE = "fastdds_large_images.xml"
PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")
# Fast DDS 2 (Humble, Jazzy) reads the profile from the older variable; Kilted's rmw warns on it.
FAST_DDS_2_DISTROS = ("humble", "jazzy")


def node_environment(config_dir: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables that give the node process the large-image Fast DDS profile; none when
    the launch terminal (`environ`) exported a profile of its own, which the node then keeps."""
    if any(environ.get(name) for name in PROFILE_VARIABLES):
        return {}
    profile = os.path.join(config_dir, PROFILE)
    env = {"FASTDDS_DEFAULT_PROFILES_FILE": profile}
    if environ.get("ROS_DISTRO") in FAST_DDS_2_DISTROS:
        env["FASTRTPS_DEFAULT_PROFILES_FILE"] = profile
    return env


def parameter_layers(given: dict[str, str], default_params: str) -> list[Any]:
    """The node's parameters: the params file, then only the arguments that were given."""
    overrides: dict[str, Any] = {name: given[name] for name in OVERRIDES if given.get(name)}
    for name in BOOLEANS:
        if given.get(name):
            overrides[name] = given[name].lower() == "true"
    layers: list[Any] = [given.get("params_file") or default_params]
    return [*layers, overrides] if overrides else layers


def respawn(given: dict[str, str]) -> dict[str, Any]:
    """The node action's respawn options from `use_respawn`."""
    return {"respawn": given["use_respawn"].lower() == "true", "respawn_delay": RESPAWN_DELAY_S}


def remappings(given: dict[str, str]) -> list[tuple[str, str]]:
    """The node's input topics remapped to the camera's."""
    image = given["image"]
    return [
        ("image", image),
        ("image/compressed", f"{image}/compressed"),
        ("camera_info", given["camera_info"]),
    ]


def generate_launch_description() -> Any:
    """Declare the described arguments, then start hybridnets_node."""
    from ament_index_python.packages import get_package_share_directory
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.launch_description import LaunchDescription
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    config_dir = os.path.join(get_package_share_directory("hybridnets_ros"), "config")
    default_params = os.path.join(config_dir, "hybridnets.yaml")

    def node(context: Any) -> list[Any]:
        given = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
        return [
            Node(
                package="hybridnets_ros",
                executable="hybridnets_node",
                name="hybridnets_node",
                namespace=given["namespace"],
                output="screen",
                emulate_tty=True,
                parameters=parameter_layers(given, default_params),
                remappings=remappings(given),
                arguments=["--ros-args", "--log-level", given["log_level"]],
                additional_env=node_environment(config_dir, os.environ),
                **respawn(given),
            )
        ]

    declared = [
        DeclareLaunchArgument(name, default_value=default, description=description)
        for name, (default, description) in ARGUMENTS.items()
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=node)])
