"""One fully populated message of each of our interfaces (msg/), built through a MessageFactory
so the rclpy and the rosbags factory give the same message from the same call."""

from __future__ import annotations

from typing import Any

import numpy as np

from hybridnets_core.outputs import messages

PACKAGE = "hybridnets_ros"
INTERFACES = ("TrackedObject", "TrackedObjectArray", "LeadVehicle", "LaneBoundary", "LaneArray")
STAMP_NS = 1_700_000_000_250_000_000
FRAME = "base_link"


def type_name(name: str) -> str:
    """'TrackedObject' -> 'hybridnets_ros/msg/TrackedObject'."""
    return f"{PACKAGE}/msg/{name}"


def _vector(factory: Any, x: float, y: float, z: float) -> Any:
    return factory.new("geometry_msgs/msg/Vector3", x=x, y=y, z=z)


def tracked_object(factory: Any, track: int) -> Any:
    """A moving car one lane to the left, seen by two cameras; every field set."""
    pose = factory.new(
        "geometry_msgs/msg/Pose",
        position=factory.new("geometry_msgs/msg/Point", x=12.5 + track, y=3.5, z=0.0),
        orientation=factory.new("geometry_msgs/msg/Quaternion", x=0.0, y=0.0, z=0.1, w=0.995),
    )
    twist = factory.new(
        "geometry_msgs/msg/Twist",
        linear=_vector(factory, -1.25, 0.5, 0.0),
        angular=_vector(factory, 0.0, 0.0, 0.0),
    )
    covariance = factory.float64_array(np.diag(np.arange(1.0, 7.0)).reshape(-1))
    return factory.new(
        type_name("TrackedObject"),
        id=str(track),
        class_id="car",
        score=0.75,
        pose=factory.new("geometry_msgs/msg/PoseWithCovariance", pose=pose, covariance=covariance),
        velocity=factory.new(
            "geometry_msgs/msg/TwistWithCovariance", twist=twist, covariance=covariance
        ),
        size=_vector(factory, 4.5, 1.75, 1.5),
        lane_index=1,
        in_path=track == 0,
        existence_confidence=0.5,
        cameras=["front", "left"],
        velocity_relative_to_vehicle=True,
    )


def lane_boundary(factory: Any, index: int, line_type: int) -> Any:
    """A straight boundary 1.75 m to the side given by `index` (+ left), 0-30 m ahead."""
    points = [
        factory.new("geometry_msgs/msg/Point", x=float(x), y=1.75 * index, z=0.0)
        for x in (0, 10, 20, 30)
    ]
    return factory.new(
        type_name("LaneBoundary"),
        points=points,
        type=line_type,
        confidence=0.875,
        boundary_index=index,
    )


def sample(factory: Any, name: str) -> Any:
    """The sample message of interface `name` (one of INTERFACES)."""
    header = messages.header(factory, STAMP_NS, FRAME)
    if name == "TrackedObject":
        return tracked_object(factory, 0)
    if name == "TrackedObjectArray":
        objects = [tracked_object(factory, track) for track in range(3)]
        return factory.new(type_name(name), header=header, objects=objects)
    if name == "LeadVehicle":
        return factory.new(
            type_name(name),
            header=header,
            present=True,
            id="0",
            range=12.5,
            range_rate=-2.5,
            time_to_collision=5.0,
        )
    if name == "LaneBoundary":
        return lane_boundary(factory, 1, 2)
    if name == "LaneArray":
        boundaries = [lane_boundary(factory, 1, 2), lane_boundary(factory, -1, 1)]
        return factory.new(type_name(name), header=header, boundaries=boundaries)
    raise ValueError(f"no sample of {name}; INTERFACES are {INTERFACES}")
