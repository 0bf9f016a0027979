"""Ground truth of a synthetic drive as messages: the planner outputs' types, in grid_frame.

`synth-bag` writes them beside the camera; `bag-eval` reads them back to score objects,
tracks, lanes and the lead vehicle. Types match the node's outputs (Detection3DArray with
persistent vehicle ids, nav_msgs/Path for the ego lane, hybridnets_ros TrackedObjectArray and
LeadVehicle), plus every lane line as a MarkerArray of line strips, and the ego motion as TF
(odom -> grid_frame) and nav_msgs/Odometry.

The tracked objects come twice: `tracked_objects` with velocities over ground and
`tracked_objects_relative` with velocities relative to the ego car (velocity_relative_to_vehicle
set), both with the true lane index and in-path flag; each pose is the footprint's centre.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..outputs import messages
from ..outputs.factory import MessageFactory
from ..synth.vehicles import CHASSIS_INSET_M
from .drive import DriveTruth
from .drive_motion import EgoState

EGO_SIDES = ("left", "right", "center")
LINE_STRIP = 4
LINE_RGBA = (1.0, 1.0, 0.0, 0.9)
TRACKED_OBJECTS = "hybridnets_ros/msg/TrackedObjectArray"
LEAD_VEHICLE = "hybridnets_ros/msg/LeadVehicle"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
ODOMETRY = "nav_msgs/msg/Odometry"


def truth_messages(
    factory: MessageFactory, truth: DriveTruth, hdr: Any
) -> dict[str, tuple[str, Any]]:
    """Topic suffix -> (type, message) of one frame's truth; `hdr` names grid_frame."""
    vehicles = truth.vehicles
    centres = np.array([[v.x_m, v.y_m, v.height_m / 2] for v in vehicles]).reshape(-1, 3)
    sizes = np.array([[v.length_m, v.width_m, v.height_m] for v in vehicles]).reshape(-1, 3)
    objects = messages.detections_3d(
        factory,
        centres,
        np.array([v.heading_rad for v in vehicles]),
        sizes,
        [np.zeros(36) for _ in vehicles],
        np.ones(len(vehicles)),
        [v.category for v in vehicles],
        [str(v.id) for v in vehicles],
        hdr,
    )
    found = {"objects": (messages.DETECTIONS_3D, objects)}
    ego = truth.lanes.ego()
    for side in EGO_SIDES:
        found[f"ego_lane/{side}"] = (messages.PATH, messages.path(factory, getattr(ego, side), hdr))
    lines = [
        messages.marker(
            factory, hdr, "lane_lines", line.index, LINE_STRIP, LINE_RGBA, (0.15, 0.0, 0.0),
            points=line.points, text=line.kind,
        )
        for line in truth.lanes.lines
    ]  # fmt: skip
    found["lane_lines"] = (messages.MARKERS, factory.new(messages.MARKERS, markers=lines))
    found["tracked_objects"] = (TRACKED_OBJECTS, _tracked(factory, truth, hdr, False))
    found["tracked_objects_relative"] = (TRACKED_OBJECTS, _tracked(factory, truth, hdr, True))
    found["lead"] = (LEAD_VEHICLE, _lead(factory, truth, hdr))
    return found


def _vector(factory: MessageFactory, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> Any:
    return factory.new("geometry_msgs/msg/Vector3", x=float(x), y=float(y), z=float(z))


def _twist(factory: MessageFactory, vx: float, vy: float, yaw_rate: float = 0.0) -> Any:
    """geometry_msgs/TwistWithCovariance with zero covariance (exact)."""
    twist = factory.new(
        "geometry_msgs/msg/Twist",
        linear=_vector(factory, vx, vy),
        angular=_vector(factory, z=yaw_rate),
    )
    return factory.new("geometry_msgs/msg/TwistWithCovariance", twist=twist)


def _tracked(factory: MessageFactory, truth: DriveTruth, hdr: Any, relative: bool) -> Any:
    """TrackedObjectArray of the labelled vehicles: footprint centre, heading, size, velocity
    (over ground, or relative to the ego car), lane index and in-path."""
    objects = []
    for vehicle, state in zip(truth.vehicles, truth.states):
        # the footprint's centre lies half a length beyond the near face, along the road
        along = vehicle.heading_rad + (math.pi if vehicle.oncoming else 0.0)
        reach = vehicle.length_m / 2 - CHASSIS_INSET_M
        x = vehicle.x_m + reach * math.cos(along)
        y = vehicle.y_m + reach * math.sin(along)
        pose = messages.pose_at(factory, x, y, vehicle.height_m / 2, vehicle.heading_rad)
        velocity = state.relative_velocity if relative else state.velocity
        objects.append(
            factory.new(
                "hybridnets_ros/msg/TrackedObject",
                id=str(vehicle.id),
                class_id=vehicle.category,
                score=1.0,
                pose=factory.new("geometry_msgs/msg/PoseWithCovariance", pose=pose),
                velocity=_twist(factory, *velocity),
                size=_vector(factory, vehicle.length_m, vehicle.width_m, vehicle.height_m),
                lane_index=int(state.lane_index),
                in_path=bool(state.in_path),
                existence_confidence=1.0,
                cameras=[],
                velocity_relative_to_vehicle=relative,
            )
        )
    return factory.new(TRACKED_OBJECTS, header=hdr, objects=objects)


def _lead(factory: MessageFactory, truth: DriveTruth, hdr: Any) -> Any:
    """LeadVehicle of the true lead (present false when there is none)."""
    lead = truth.lead
    if lead is None:
        return factory.new(LEAD_VEHICLE, header=hdr, present=False)
    return factory.new(
        LEAD_VEHICLE,
        header=hdr,
        present=True,
        id=str(lead.id),
        range=float(lead.range_m),
        range_rate=float(lead.range_rate_mps),
        time_to_collision=float(lead.ttc_s),
    )


def ego_messages(
    factory: MessageFactory, ego: EgoState, stamp: int, odom_frame: str, child_frame: str
) -> dict[str, tuple[str, Any]]:
    """The ego pose as a TF message (odom_frame -> child_frame) and as nav_msgs/Odometry (pose
    in odom_frame, twist in child_frame), by kind "tf" and "odometry"."""
    hdr = messages.header(factory, stamp, odom_frame)
    half = ego.yaw / 2
    rotation = factory.new(
        "geometry_msgs/msg/Quaternion", x=0.0, y=0.0, z=math.sin(half), w=math.cos(half)
    )
    transform = factory.new(
        "geometry_msgs/msg/TransformStamped",
        header=hdr,
        child_frame_id=child_frame,
        transform=factory.new(
            "geometry_msgs/msg/Transform",
            translation=_vector(factory, ego.x, ego.y),
            rotation=rotation,
        ),
    )
    pose = messages.pose_at(factory, ego.x, ego.y, 0.0, ego.yaw)
    odometry = factory.new(
        ODOMETRY,
        header=hdr,
        child_frame_id=child_frame,
        pose=factory.new("geometry_msgs/msg/PoseWithCovariance", pose=pose),
        twist=_twist(factory, ego.vx, ego.vy, ego.yaw_rate),
    )
    return {
        "tf": (TF_MESSAGE, factory.new(TF_MESSAGE, transforms=[transform])),
        "odometry": (ODOMETRY, odometry),
    }


def path_points(msg: Any) -> np.ndarray | None:
    """float [M, 3] positions of a nav_msgs/Path, None for an empty path."""
    if not msg.poses:
        return None
    return np.array([[p.pose.position.x, p.pose.position.y, p.pose.position.z] for p in msg.poses])


def objects_from_msg(msg: Any) -> tuple[list[str], np.ndarray]:
    """Ids and ground positions float [N, 2] of a Detection3DArray."""
    ids = [d.id for d in msg.detections]
    xy = np.array([[d.bbox.center.position.x, d.bbox.center.position.y] for d in msg.detections])
    return ids, xy.reshape(-1, 2)
