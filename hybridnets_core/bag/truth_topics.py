"""Ground truth of a synthetic drive as messages: the planner outputs' types, in grid_frame.

`synth-bag` writes them beside the camera; `bag-eval` reads them back to score objects,
tracks and lanes. Types match the node's outputs (Detection3DArray with persistent vehicle
ids, nav_msgs/Path for the ego lane), plus every lane line as a MarkerArray of line strips.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..outputs import messages
from ..outputs.factory import MessageFactory
from .drive import DriveTruth

EGO_SIDES = ("left", "right", "center")
LINE_STRIP = 4
LINE_RGBA = (1.0, 1.0, 0.0, 0.9)


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
    return found


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
