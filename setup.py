"""pip install of `hybridnets_ros`: the core library, the ROS 2 node and the CLI.

colcon builds the package with CMakeLists.txt (ament_cmake: it also generates our interfaces in
msg/); this file installs the same Python packages, console scripts and share files for pip.
"""

import os
import sys
from glob import glob
from pathlib import Path

from setuptools import Extension, find_packages, setup

PACKAGE = "hybridnets_ros"
ORT_HEADER = "onnxruntime_c_api.h"


def onnxruntime_include_dir() -> str | None:
    """Where ONNX Runtime's C headers are: $ONNXRUNTIME_INCLUDE_DIR, the interpreter's
    environment (a venv's include/; colcon points sys.prefix at its install space), or the
    system."""
    candidates = [
        os.environ.get("ONNXRUNTIME_INCLUDE_DIR", ""),
        str(Path(sys.executable).parent.parent / "include" / "onnxruntime"),
        os.path.join(sys.prefix, "include", "onnxruntime"),
        "/usr/local/include/onnxruntime",
        "/usr/include/onnxruntime",
    ]
    return next((c for c in candidates if c and (Path(c) / ORT_HEADER).is_file()), None)


def native_extensions() -> list[Extension]:
    """The ai.hybridnets ONNX Runtime op library (fast INT8 operators), when headers exist.

    Optional: without headers or a C++ compiler the package installs and INT8 exports keep
    ONNX Runtime's own operators.
    """
    include_dir = onnxruntime_include_dir()
    if include_dir is None:
        # stderr: colcon reads setup.py's stdout as data
        print(f"hybridnets_ros: no {ORT_HEADER}, native INT8 ops not built", file=sys.stderr)
        return []
    return [
        Extension(
            "hybridnets_core.native._ops",
            sources=sorted(glob("hybridnets_core/native/*.cc")),
            depends=glob("hybridnets_core/native/*.h"),
            include_dirs=[include_dir],
            extra_compile_args=["-std=c++17", "-O3", "-fvisibility=hidden"],
            language="c++",
            optional=True,
        )
    ]


setup(
    name=PACKAGE,
    version="0.1.0",
    description="HybridNets multi-task driving perception (detection, drivable area, lanes) "
    "for ROS 2",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["hybridnets_core", "hybridnets_core.*", PACKAGE]),
    package_data={"hybridnets_core": ["model/builtin/*.pth"]},
    ext_modules=native_extensions(),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (
            f"share/{PACKAGE}/config",
            glob("config/*.yaml")
            + glob("config/*.xml")
            + glob("config/*.rviz")
            + glob("config/*.json"),
        ),
        (f"share/{PACKAGE}/msg", glob("msg/*.msg")),
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
        "scipy>=1.10",  # linear_sum_assignment: tracker association
        "motmetrics>=1.4.0",  # CLEAR-MOT / IDF1 tracking metrics
    ],
    extras_require={
        "onnx": ["onnx>=1.15", "onnxruntime>=1.17"],
        "gpu": ["onnx>=1.15", "onnxruntime-gpu>=1.17"],
        "train": ["matplotlib>=3.7", "tensorboard>=2.14"],
        "test": ["pytest>=7.4"],
        "dev": ["pytest>=7.4", "ruff>=0.6"],
    },
    zip_safe=False,
    # console scripts: setup.cfg [options.entry_points] (CMakeLists.txt installs the same)
)
