"""The planner knobs as parameters of a real node: described with their ranges (what
`ros2 param describe` shows), per camera too, and changed at run time into the settings the
camera's next frame is built with."""

# ruff: noqa: E402  (ROS imports must follow the skip-or-fail check)
from __future__ import annotations

from pathlib import Path

from ros_fixtures import require_ros

require_ros()

from rcl_interfaces.msg import ParameterType
from ros_session import Ros, set_parameters

from hybridnets_core.scene.objects import ObjectSettings
from hybridnets_ros import params

PRIORS = len(ObjectSettings().prior_classes)


def test_planner_knobs_are_described_and_reach_the_camera_scene(ros: Ros, weights: Path) -> None:
    node = ros.start_node(weights, "/planner", cameras=["front"])
    listener = ros.listener("/planner")
    iou = node.describe_parameter("tracking.min_iou")
    assert iou.type == ParameterType.PARAMETER_DOUBLE and not iou.read_only
    assert iou.description == params.PARAMETERS["tracking.min_iou"][1].description
    assert (iou.floating_point_range[0].from_value, iou.floating_point_range[0].to_value) == (
        0.01,
        1.0,
    )
    hits = node.describe_parameter("front.tracking.min_hits")
    assert (hits.integer_range[0].from_value, hits.integer_range[0].to_value) == (1, 1000)
    heights = node.describe_parameter("front.objects.prior_heights_m")
    assert heights.type == ParameterType.PARAMETER_DOUBLE_ARRAY
    assert heights.additional_constraints == "each value within [0.01, 100]"
    assert tuple(node.get_parameter("front.objects.prior_heights_m").value) == (
        ObjectSettings().prior_heights_m
    )
    assert node.describe_parameter("front.objects.prior_classes").read_only

    name = node.get_fully_qualified_name()
    changes = {
        "front.tracking.min_hits": 4,
        "front.lanes.max_range_m": 30.0,
        "front.objects.prior_heights_m": [2.0] * PRIORS,
    }
    assert all(result.successful for result in set_parameters(listener, name, **changes))
    front = node.snapshot.cameras["front"]  # what the camera's next frame is built with
    assert front.tracking.min_hits == 4 and front.lanes.max_range_m == 30.0
    assert front.objects.prior_heights_m == (2.0,) * PRIORS

    refused = {
        "tracking.min_iou": 0.0,  # outside the declared range
        "front.objects.prior_heights_m": [2.0],  # not one value per prior class
        "front.objects.prior_classes": ["car"],  # read-only
        "lanes.min_lane_width_m": 4.0,  # wider than lanes.lane_width_m
    }
    for key, value in refused.items():
        (result,) = set_parameters(listener, name, **{key: value})
        assert not result.successful and result.reason, key
    (result,) = set_parameters(listener, name, **{"front.objects.prior_heights_m": [2.0]})
    assert "prior_heights_m needs one value per prior_classes name" in result.reason
    assert node.snapshot.cameras["front"].objects.prior_heights_m == (2.0,) * PRIORS
