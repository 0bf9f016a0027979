"""rclpy side of the output layer: a `MessageFactory` of rclpy messages.

Array fields are given as `array.array`, which rclpy (since Humble) stores without a
per-element check; fields are set after construction because a constructor argument is
copied element by element. Everything else about the messages is in hybridnets_core.outputs.
"""

from __future__ import annotations

import array
from functools import cache
from importlib import import_module
from typing import Any

import numpy as np


@cache
def message_class(type_name: str) -> type:
    """The rclpy class of a ROS type name such as 'sensor_msgs/msg/Image'."""
    package, kind, name = type_name.split("/")
    return getattr(import_module(f"{package}.{kind}"), name)


def _bytes_of(data: np.ndarray, typecode: str) -> array.array:
    out = array.array(typecode)
    out.frombytes(np.ascontiguousarray(data).reshape(-1).view(np.uint8).data)
    return out


class RclpyFactory:
    """Builds rclpy messages for `hybridnets_core.outputs` builders."""

    def new(self, type_name: str, **fields: Any) -> Any:
        message = message_class(type_name)()
        for name, value in fields.items():
            setattr(message, name, value)
        return message

    def uint8_array(self, data: np.ndarray) -> array.array:
        return _bytes_of(data, "B")

    def int8_array(self, data: np.ndarray) -> array.array:
        return _bytes_of(np.asarray(data, np.int8), "b")

    def float32_array(self, values: Any) -> array.array:
        return _bytes_of(np.asarray(values, np.float32), "f")

    def float64_array(self, values: Any) -> array.array:
        return _bytes_of(np.asarray(values, np.float64), "d")
