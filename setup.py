"""ament_python package `hybridnets_ros`: the core library, the ROS 2 node and the CLI."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "hybridnets_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    description="HybridNets multi-task driving perception (detection, drivable area, lanes) "
    "for ROS 2",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["hybridnets_core", "hybridnets_core.*", PACKAGE]),
    package_data={"hybridnets_core": ["builtin/*.pth"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (
            f"share/{PACKAGE}/ros_interfaces/vision_msgs/msg",
            glob("test/ros_interfaces/vision_msgs/msg/*.msg"),
        ),
    ],
    install_requires=[
        "setuptools",
        "numpy>=1.23",
        "opencv-python-headless>=4.7",
        "torch>=2.1",
        "efficientnet-pytorch>=0.7.1",
        "tqdm>=4.64",
        "pyyaml>=6.0",
        "rosbags>=0.11.9",
    ],
    extras_require={
        "onnx": ["onnx>=1.15", "onnxruntime>=1.17"],
        "gpu": ["onnx>=1.15", "onnxruntime-gpu>=1.17"],
        "train": ["matplotlib>=3.7", "tensorboard>=2.14"],
        "test": ["pytest>=7.4"],
        "dev": ["pytest>=7.4", "ruff>=0.6"],
    },
    zip_safe=True,
    entry_points={
        "console_scripts": [
            "hybridnets = hybridnets_core.cli.main:main",
            "hybridnets_node = hybridnets_ros.node:main",
            "hybridnets_demo = hybridnets_ros.demo:main",
        ],
    },
)
