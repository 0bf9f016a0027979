"""Launch hybridnets_node with config/hybridnets.yaml, remapped camera topics and LARGE_DATA.

ros2 launch hybridnets_ros hybridnets.launch.py image:=/camera/image_raw device:=cuda
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.launch_context import LaunchContext
from launch.launch_description import LaunchDescription
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

DEFAULT_PARAMS = os.path.join(
    get_package_share_directory("hybridnets_ros"), "config", "hybridnets.yaml"
)
ARGUMENTS = {
    "params_file": (DEFAULT_PARAMS, "Parameter file (every node parameter is documented there)."),
    "weights": ("", "Checkpoint file; empty: as in params_file (default: the built-in model)."),
    "backend": ("", "torch or onnxruntime; empty: as in params_file."),
    "device": ("", "cpu, cuda or cuda:N; empty: as in params_file."),
    "input_mode": ("raw", "raw (sensor_msgs/Image) or compressed (sensor_msgs/CompressedImage)."),
    "image": ("/camera/image_raw", "Raw image topic; compressed mode reads <image>/compressed."),
    "camera_info": ("/camera/camera_info", "CameraInfo topic, used for the ground grid."),
    "namespace": ("", "Namespace of the node and so of its ~/ outputs."),
    "use_sim_time": ("false", "Use /clock time (true when replaying bags)."),
    "log_level": ("info", "Logging level of the node (debug, info, warn, error)."),
}
OPTIONAL_OVERRIDES = ("weights", "backend", "device")


def _node(context: LaunchContext) -> list[Node]:
    """The node: params_file, then the launch arguments that were given, layered over it."""

    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    overrides = {name: arg(name) for name in OPTIONAL_OVERRIDES if arg(name)}
    image = arg("image")
    return [
        Node(
            package="hybridnets_ros",
            executable="hybridnets_node",
            name="hybridnets_node",
            namespace=arg("namespace"),
            output="screen",
            emulate_tty=True,
            parameters=[
                arg("params_file"),
                {
                    "input_mode": arg("input_mode"),
                    "use_sim_time": arg("use_sim_time").lower() == "true",
                    **overrides,
                },
            ],
            remappings=[
                ("image", image),
                ("image/compressed", f"{image}/compressed"),
                ("camera_info", arg("camera_info")),
            ],
            arguments=["--ros-args", "--log-level", arg("log_level")],
            # Fast DDS loses most large best-effort images between processes without this.
            additional_env={"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"},
        )
    ]


def generate_launch_description() -> LaunchDescription:
    """Declare the described arguments, then start hybridnets_node."""
    declared = [
        DeclareLaunchArgument(name, default_value=default, description=description)
        for name, (default, description) in ARGUMENTS.items()
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=_node)])
