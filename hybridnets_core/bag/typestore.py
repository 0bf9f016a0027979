"""Message types for bags without a ROS install: the ROS 2 Humble set (Marker as Jazzy and
Kilted define it), vision_msgs and our own interfaces (hybridnets_ros/msg).

vision_msgs is not among `rosbags`' built-in types; it is registered from the same `.msg`
files that build the test interface package, and ours from the `msg/` files that build the
hybridnets_ros interfaces (both shipped in share/hybridnets_ros when installed), so the bag
tools and the live node agree on one definition.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from ..errors import ConfigError

PACKAGE = "hybridnets_ros"
VISION_MSGS = Path("ros_interfaces") / "vision_msgs" / "msg"
# Where each interface package's .msg files live, by package: the folders a source checkout
# holds them in, then the installed package's share folder (rosidl installs ours in
# share/hybridnets_ros/msg). Each entry: package, the folders, a file that must be there.
INTERFACES = (
    (
        "vision_msgs",
        (Path("test") / VISION_MSGS, Path("share") / PACKAGE / VISION_MSGS),
        "Detection2DArray.msg",
    ),
    (PACKAGE, (Path("msg"), Path("share") / PACKAGE / "msg"), "TrackedObjectArray.msg"),
)


def definitions_dir(package: str) -> Path:
    """The folder holding `package`'s .msg files (one of INTERFACES), looked up from this
    module upwards."""
    _, suffixes, marker = next(entry for entry in INTERFACES if entry[0] == package)
    for ancestor in Path(__file__).resolve().parents:
        for suffix in suffixes:
            if (ancestor / suffix / marker).is_file():
                return ancestor / suffix
    raise ConfigError(
        f"{package} message definitions not found (looked for "
        f"{' or '.join(str(s) for s in suffixes)} above {Path(__file__).parent}); "
        "reinstall the hybridnets_ros package"
    )


# Types whose Humble definition lacks what Jazzy and Kilted declare: Marker's ARROW_STRIP (12).
# Same fields, so Humble readers decode them alike; a bag then declares the newer constants.
NEWER_TYPES = ("visualization_msgs/msg/Marker",)


@cache
def typestore() -> Typestore:
    """The shared typestore: ROS 2 Humble messages (NEWER_TYPES from Kilted), vision_msgs
    (Humble/Jazzy API) and hybridnets_ros/msg."""
    kilted = get_typestore(Stores.ROS2_KILTED).fielddefs
    store = get_typestore(Stores.EMPTY)
    humble = get_typestore(Stores.ROS2_HUMBLE).fielddefs
    store.register({**humble, **{name: kilted[name] for name in NEWER_TYPES}})
    types = {}
    for package, _, _ in INTERFACES:
        for path in sorted(definitions_dir(package).glob("*.msg")):
            types.update(get_types_from_msg(path.read_text(), f"{package}/msg/{path.stem}"))
    store.register(types)
    return store


NUMPY_TYPES = {
    "bool": np.bool_, "byte": np.uint8, "char": np.uint8, "int8": np.int8, "uint8": np.uint8,
    "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32,
    "int64": np.int64, "uint64": np.uint64, "float32": np.float32, "float64": np.float64,
}  # fmt: skip


class RosbagsFactory:
    """`outputs.factory.MessageFactory` of rosbags dataclasses (for the bag writer).

    Fields a builder leaves out get the ROS defaults (zero, empty, nested defaults), as rclpy
    gives them, so both transports produce the same message from the same builder call.
    """

    def __init__(self) -> None:
        self.store = typestore()
        self.types = self.store.types

    def new(self, type_name: str, **fields: Any) -> Any:
        _, definitions = self.store.fielddefs[type_name]
        values = {
            name: fields[name] if name in fields else self._default(kind)
            for name, kind in definitions
        }
        return self.types[type_name](**values)

    def _default(self, kind: tuple[Any, Any]) -> Any:
        """The ROS default of a field given its rosbags type description."""
        node, detail = kind
        if node.name == "BASE":
            base = detail[0]
            return "" if base == "string" else NUMPY_TYPES[base](0).item()
        if node.name == "NAME":
            return self.new(detail)
        element, length = detail
        if element[0].name == "BASE" and element[1][0] != "string":
            return np.zeros(length if node.name == "ARRAY" else 0, NUMPY_TYPES[element[1][0]])
        return [self._default(element) for _ in range(length if node.name == "ARRAY" else 0)]

    def uint8_array(self, data: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)

    def int8_array(self, data: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(data, np.int8).reshape(-1)

    def float32_array(self, values: Any) -> np.ndarray:
        return np.asarray(values, np.float32).reshape(-1)

    def float64_array(self, values: Any) -> np.ndarray:
        return np.asarray(values, np.float64).reshape(-1)
