"""`ros2 param dump` of a real node: every declared parameter answers in one GetParameters
request through the real service, `cameras` included (one unset parameter used to empty the
whole reply), and `cameras` accepts only names a camera can have."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

from pathlib import Path

import pytest
from ros_fixtures import require_ros

require_ros()

from rcl_interfaces.msg import ParameterType
from rcl_interfaces.srv import GetParameters, ListParameters
from ros_session import Ros, call_service

from hybridnets_core.errors import ConfigError
from hybridnets_ros import params


def dump(ros: Ros, namespace: str) -> dict[str, object]:
    """Name -> value of every parameter, fetched as `ros2 param dump` does: list, then one get."""
    listener = ros.listener(namespace)
    node = f"{namespace.rstrip('/')}/hybridnets_node"
    listed = call_service(
        listener, ListParameters, f"{node}/list_parameters", ListParameters.Request()
    )
    names = list(listed.result.names)
    reply = call_service(
        listener, GetParameters, f"{node}/get_parameters", GetParameters.Request(names=names)
    )
    assert len(reply.values) == len(names), "a parameter request went unanswered"
    return dict(zip(names, reply.values))


def test_every_parameter_dumps_with_one_camera(ros: Ros, weights: Path) -> None:
    ros.start_node(weights, "/dump_one")
    values = dump(ros, "/dump_one")
    assert set(params.PARAMETERS) | {params.CAMERAS} <= set(values)
    assert all(value.type != ParameterType.PARAMETER_NOT_SET for value in values.values())
    cameras = values[params.CAMERAS]
    assert cameras.type == ParameterType.PARAMETER_STRING_ARRAY
    assert list(cameras.string_array_value) == list(params.ONE_CAMERA)
    assert values["conf_threshold"].double_value == 0.0  # the test node's own setting


def test_every_parameter_dumps_with_named_cameras(ros: Ros, weights: Path) -> None:
    ros.start_node(weights, "/dump_two", cameras=["front", "left"])
    values = dump(ros, "/dump_two")
    assert list(values[params.CAMERAS].string_array_value) == ["front", "left"]
    assert "front.publish_grid" in values and "left.tracking.min_hits" in values


@pytest.mark.parametrize("names", [["front", ""], ["front", "front"], ["3d"], ["a-b"]])
def test_camera_names_that_cannot_be_topics_are_refused(names: list[str]) -> None:
    with pytest.raises(ConfigError, match="cameras"):
        params.camera_names(names)


def test_camera_names() -> None:
    assert params.camera_names([""]) == [""]
    assert params.camera_names([]) == [""]
    assert params.camera_names(["front", "rear_left"]) == ["front", "rear_left"]
