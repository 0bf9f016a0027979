"""Parameter requests rclpy cannot parse, answered by hybridnets_ros.parameter_requests on a
real rclpy node (the node process's side: test/process/test_node_hardening.py)."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

from ros_fixtures import require_ros, wait_until

require_ros()

import rclpy
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterValue
from rcl_interfaces.srv import SetParametersAtomically
from rclpy.parameter import Parameter
from ros_session import Ros

from hybridnets_ros.parameter_requests import answer_unparseable_requests


def test_an_unparseable_atomic_parameter_request_is_refused_whole(ros: Ros) -> None:
    """SetParametersAtomically with one parameter of an unknown type: answered with one failed
    result naming it, and nothing applied (not even the valid parameter beside it)."""
    node = ros.add(rclpy.create_node("atomic_guard", context=ros.context))
    node.declare_parameter("rate", 1.0)
    assert answer_unparseable_requests(node) == 2
    client = node.create_client(SetParametersAtomically, "/atomic_guard/set_parameters_atomically")
    assert client.wait_for_service(timeout_sec=10.0)
    bogus = ParameterMsg(name="rate", value=ParameterValue(type=42))
    valid = Parameter("rate", value=2.0).to_parameter_msg()
    future = client.call_async(SetParametersAtomically.Request(parameters=[valid, bogus]))
    assert wait_until(future.done, 10.0), "the unparseable request was never answered"
    result = future.result().result
    assert not result.successful and "rate" in result.reason
    assert node.get_parameter("rate").value == 1.0
