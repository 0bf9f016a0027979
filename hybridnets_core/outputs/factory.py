"""What a transport must provide to build messages: typed constructors and array fields.

The rclpy factory lives in `hybridnets_ros.messages`, the rosbags one in
`hybridnets_core.bag.typestore`; builders in `outputs.messages` only talk to this protocol.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class MessageFactory(Protocol):
    """Creates messages of one transport by ROS type name ("sensor_msgs/msg/Image")."""

    def new(self, type_name: str, **fields: Any) -> Any:
        """A message of `type_name` with every given field set."""
        ...

    def uint8_array(self, data: np.ndarray) -> Any:
        """A uint8[] field value holding the bytes of `data` (any dtype, C order)."""
        ...

    def int8_array(self, data: np.ndarray) -> Any:
        """An int8[] field value of an int8 array."""
        ...

    def float32_array(self, values: Any) -> Any:
        """A float32[] field value."""
        ...

    def float64_array(self, values: Any) -> Any:
        """A float64[] or float64[N] field value."""
        ...
