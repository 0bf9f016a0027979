"""Parameter-service requests that rclpy cannot parse are answered, not raised.

rclpy's own SetParameters and SetParametersAtomically callbacks raise on a parameter value of an
unknown type (`ParameterValue(type=42)`). The exception escapes the executor, the client waits
forever for an answer and the node has to recover from an exception in its spin loop. Here such
a parameter gets a failed `SetParametersResult` naming the problem, like any refused value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rcl_interfaces.msg import SetParametersResult
from rcl_interfaces.srv import SetParameters, SetParametersAtomically

UNPARSEABLE = (ValueError, TypeError)


def _refused(name: str, exc: Exception) -> SetParametersResult:
    return SetParametersResult(
        successful=False, reason=f"cannot parse parameter '{name}': {exc} (unknown value type)"
    )


def _one_at_a_time(callback: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """SetParameters: each parameter applied or refused on its own, as rclpy does, but an
    unparseable one refused with a reason instead of raising."""

    def answer(request: SetParameters.Request, response: SetParameters.Response) -> Any:
        for parameter in request.parameters:
            single = SetParameters.Request(parameters=[parameter])
            try:
                response.results.extend(callback(single, SetParameters.Response()).results)
            except UNPARSEABLE as exc:
                response.results.append(_refused(parameter.name, exc))
        return response

    return answer


def _all_or_nothing(callback: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """SetParametersAtomically: an unparseable parameter refuses the whole request."""

    def answer(
        request: SetParametersAtomically.Request, response: SetParametersAtomically.Response
    ) -> Any:
        try:
            return callback(request, response)
        except UNPARSEABLE as exc:
            names = ", ".join(p.name for p in request.parameters)
            response.result = _refused(names, exc)
            return response

    return answer


GUARDS = {SetParameters: _one_at_a_time, SetParametersAtomically: _all_or_nothing}


def answer_unparseable_requests(node: Any) -> int:
    """Wrap the node's own set_parameters(_atomically) services; how many were wrapped."""
    own_prefix = node.get_fully_qualified_name().rstrip("/") + "/"
    wrapped = 0
    for service in node.services:
        guard = GUARDS.get(service.srv_type)
        if guard is not None and service.service_name.startswith(own_prefix):
            service.callback = guard(service.callback)
            wrapped += 1
    return wrapped
