"""Scoring the planner outputs of a replay against a synthetic drive's ground truth.

Truth comes from the bag's ground-truth topics (`truth_topics`, written by synth-bag): true
boxes with persistent vehicle ids, their ground positions and the ego lane. Each replayed
frame gives its tracked detections, their ground positions and the fitted ego lane.

Tracking is scored twice: over every labelled vehicle, and inside the grid's extent (the
planner's region, where `~/objects` locates them): true vehicles beyond it and tracks whose
contact point is beyond it or above the horizon are left out (`TrackingAccumulator`'s region
of interest); tracks of vehicles cut by the image's border stay in.

Newer drives also carry each vehicle's velocity and lane index and the lead vehicle
(`tracked_objects_relative`, `lead`), the ego pose (TF or odometry) and the drivable mask:
with them the path assessment (path_metrics) and the ground grid and local map (map_metrics)
are scored too; a bag without them leaves those keys null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..evaluation.lanes import LaneAccumulator
from ..evaluation.tracking import TrackingAccumulator
from ..outputs import messages
from ..outputs.codec import image_to_array
from ..outputs.settings import OutputSettings
from ..scene.ego_motion import EgoPose, OdometrySettings, PoseHistory
from ..scene.lanes import EgoLane
from ..scene.objects import ObjectStatus
from ..scene.path import LANE_UNKNOWN
from ..serving.session import SessionFrame
from .map_metrics import GroundMetrics
from .path_metrics import MotionTruth, PathMetrics
from .reader import BagReader
from .truth_topics import (
    EGO_SIDES,
    LEAD_VEHICLE,
    ODOMETRY,
    TF_MESSAGE,
    TRACKED_OBJECTS,
    objects_from_msg,
    path_points,
)

# tracks the planner does not get as objects: on the ground beyond the grid, or not on it at all
BEYOND_GRID = (ObjectStatus.OUTSIDE_GRID, ObjectStatus.ABOVE_HORIZON)
TF_TOPIC, ODOMETRY_TOPIC = "/tf", "/odom"  # synth-bag's ego motion
ODOM_FRAME = "odom"


@dataclass(frozen=True)
class PlannerTruth:
    """One frame's truth: labelled boxes and their vehicle ids, positions, the ego lane."""

    ids: list[str]
    boxes: np.ndarray  # [N, 4] source pixels
    ground_xy: np.ndarray  # [N, 2] grid_frame, NaN where unknown
    ego: EgoLane
    motion: MotionTruth | None = None  # velocities, lanes, lead: None in older drives
    drivable: np.ndarray | None = None  # bool [H, W] true drivable mask of the source image
    pose: EgoPose | None = None  # grid_frame in odom at the frame's stamp


class PlannerTruthTopics:
    """The ground-truth topics under a prefix, read once and kept by stamp."""

    def __init__(self, bag: BagReader, prefix: str, grid_frame: str = "base_link") -> None:
        self.topics = {
            "detections": f"{prefix}/detections",
            "objects": f"{prefix}/objects",
            **{side: f"{prefix}/ego_lane/{side}" for side in EGO_SIDES},
        }
        optional = {
            "motion": (f"{prefix}/tracked_objects_relative", TRACKED_OBJECTS),
            "lead": (f"{prefix}/lead", LEAD_VEHICLE),
            "drivable": (f"{prefix}/drivable_mask", messages.IMAGE),
        }
        present = {name: topic for name, (topic, kind) in optional.items()
                   if bag.topics.get(topic) == kind}  # fmt: skip
        by_topic = {topic: name for name, topic in {**self.topics, **present}.items()}
        found: dict[int, dict[str, Any]] = {}
        for topic, _, msg in bag.messages(list(by_topic)):
            found.setdefault(messages.stamp_ns(msg.header), {})[by_topic[topic]] = msg
        poses = ego_poses(bag, grid_frame)
        self._frames = {
            stamp: self._truth(parts, poses.at(stamp) if poses is not None else None)
            for stamp, parts in found.items()
            if all(name in parts for name in self.topics)
        }

    @staticmethod
    def present(bag: BagReader, prefix: str) -> bool:
        """Whether the bag carries the planner truth (a synth-bag drive)."""
        return f"{prefix}/objects" in bag.topics and f"{prefix}/ego_lane/center" in bag.topics

    @staticmethod
    def _truth(parts: dict[str, Any], pose: EgoPose | None) -> PlannerTruth:
        boxes, _, _ = messages.detections_from_msg(parts["detections"])
        ids = [d.id for d in parts["detections"].detections]
        object_ids, object_xy = objects_from_msg(parts["objects"])
        where = {ident: row for row, ident in enumerate(object_ids)}
        ground = np.full((len(ids), 2), np.nan)
        for row, ident in enumerate(ids):
            if ident in where:
                ground[row] = object_xy[where[ident]]
        ego = EgoLane(**{side: path_points(parts[side]) for side in EGO_SIDES})
        motion = None
        if "motion" in parts and "lead" in parts:
            motion = _motion_truth(ids, parts["motion"], parts["lead"])
        drivable = None
        if "drivable" in parts:
            drivable = image_to_array(parts["drivable"])[0][:, :, 0] > 0
        return PlannerTruth(ids, boxes.reshape(-1, 4), ground, ego, motion, drivable, pose)

    def get(self, stamp: int) -> PlannerTruth | None:
        return self._frames.get(stamp)


def _motion_truth(ids: list[str], tracked: Any, lead: Any) -> MotionTruth:
    """Velocities relative to the ego vehicle and lane indices in `ids`' order (NaN and
    LANE_UNKNOWN for ids the TrackedObjectArray lacks), and the lead."""
    velocity = np.full((len(ids), 2), np.nan)
    lanes = np.full(len(ids), LANE_UNKNOWN, np.int64)
    rows = {ident: row for row, ident in enumerate(ids)}
    for obj in tracked.objects:
        row = rows.get(obj.id)
        if row is not None:
            linear = obj.velocity.twist.linear
            velocity[row] = (linear.x, linear.y)
            lanes[row] = obj.lane_index
    lead_id = lead.id if lead.present else ""
    return MotionTruth(velocity, lanes, lead_id, float(lead.time_to_collision))


def ego_poses(bag: BagReader, grid_frame: str) -> PoseHistory | None:
    """The ego poses (grid_frame in odom) of the bag's TF, else of its odometry; None when it
    has neither."""
    history = PoseHistory(round(OdometrySettings().odometry_tolerance * messages.NS_PER_S))
    if bag.topics.get(TF_TOPIC) == TF_MESSAGE:
        for _, _, msg in bag.messages([TF_TOPIC]):
            for tf in msg.transforms:
                if (tf.header.frame_id, tf.child_frame_id) == (ODOM_FRAME, grid_frame):
                    t, q = tf.transform.translation, tf.transform.rotation
                    pose = EgoPose.from_transform((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))
                    history.add(messages.stamp_ns(tf.header), pose)
    elif bag.topics.get(ODOMETRY_TOPIC) == ODOMETRY:
        for _, _, msg in bag.messages([ODOMETRY_TOPIC]):
            if msg.child_frame_id == grid_frame:
                p, q = msg.pose.pose.position, msg.pose.pose.orientation
                pose = EgoPose.from_transform((p.x, p.y, p.z), (q.x, q.y, q.z, q.w))
                history.add(messages.stamp_ns(msg.header), pose)
    return history if len(history) else None


class PlannerMetrics:
    """objects.position_error_rel, tracking MOTA/IDF1/id switches, lane lateral errors; with
    newer drives' truth also velocities, lane indices, the lead, the grid and local map."""

    def __init__(self, outputs: OutputSettings, class_names: list[str]) -> None:
        self.grid = outputs.ground.grid
        self.tracking = TrackingAccumulator()
        self.tracking_in_grid = TrackingAccumulator()
        self.lanes = LaneAccumulator()
        self.path = PathMetrics(self.grid, class_names)
        self.ground = GroundMetrics(outputs.ground.camera)
        self.frames = 0

    def update(self, replayed: SessionFrame, truth: PlannerTruth) -> None:
        """Add one replayed frame: its tracked detections and fitted ego lane."""
        frame, scene = replayed.result, replayed.scene
        ids = scene.track_ids(len(frame))
        tracked = np.array([bool(ident) for ident in ids], bool).reshape(-1)
        positions = beyond = None
        if scene.objects is not None:
            positions = scene.objects.position[tracked]
            beyond = np.isin(scene.objects.status[tracked], BEYOND_GRID)
        tracks = ([ident for ident in ids if ident], frame.boxes[tracked])
        self.tracking.update(*tracks, truth.ids, truth.boxes, positions, truth.ground_xy)
        self.tracking_in_grid.update(
            *tracks,
            truth.ids,
            truth.boxes,
            true_ignored=self._outside_grid(truth.ground_xy),
            predicted_ignored=beyond,
        )
        predicted = replayed.lanes.ego if replayed.lanes is not None else EgoLane()
        self.lanes.update(predicted, truth.ego)
        if truth.motion is not None:
            self.path.update(
                scene.tracks, frame.boxes, replayed.lanes, truth.ids, truth.boxes,
                truth.ground_xy, truth.motion,
            )  # fmt: skip
        if truth.drivable is not None:
            self.ground.update(replayed, truth.drivable, truth.pose)
        self.frames += 1

    def _outside_grid(self, xy: np.ndarray) -> np.ndarray:
        """True objects whose position is known and outside the grid (unknown ones stay in)."""
        x, y = xy[:, 0], xy[:, 1]
        return np.isfinite(x) & np.isfinite(y) & ~self.grid.contains(x, y)

    def summary(self) -> dict[str, Any]:
        """The JSON report's planner section."""
        tracking = self.tracking.summary()
        in_grid = self.tracking_in_grid.summary()
        del in_grid["position_error_rel"]  # reported once, under "objects"
        grid = self.grid
        in_grid["grid_m"] = {"x": [grid.x_min, grid.x_max], "y": [grid.y_min, grid.y_max]}
        path = self.path.summary()
        return {
            "frames": self.frames,
            "objects": {
                "position_error_rel": tracking.pop("position_error_rel"),
                **path["objects"],
            },
            "tracking": tracking,
            "tracking_in_grid": in_grid,
            "lanes": {**self.lanes.summary(), **path["lanes"]},
            "lead": path["lead"],
            **self.ground.summary(),
        }

    def id_timeline(self) -> dict[str, dict[str, list]]:
        return self.tracking.id_timeline()
