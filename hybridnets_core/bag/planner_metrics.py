"""Scoring the planner outputs of a replay against a synthetic drive's ground truth.

Truth comes from the bag's ground-truth topics (`truth_topics`, written by synth-bag): true
boxes with persistent vehicle ids, their ground positions and the ego lane. Each replayed
frame gives its tracked detections, their ground positions and the fitted ego lane.

Tracking is scored twice: over every labelled vehicle, and inside the grid's extent (the
planner's region, where `~/objects` locates them): true vehicles beyond it and tracks whose
contact point is beyond it or above the horizon are left out (`TrackingAccumulator`'s region
of interest); tracks of vehicles cut by the image's border stay in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..evaluation.lanes import LaneAccumulator
from ..evaluation.tracking import TrackingAccumulator
from ..outputs import messages
from ..scene.ground import GridSpec
from ..scene.lanes import EgoLane
from ..scene.objects import ObjectStatus
from ..serving.session import SessionFrame
from .reader import BagReader
from .truth_topics import EGO_SIDES, objects_from_msg, path_points

# tracks the planner does not get as objects: on the ground beyond the grid, or not on it at all
BEYOND_GRID = (ObjectStatus.OUTSIDE_GRID, ObjectStatus.ABOVE_HORIZON)


@dataclass(frozen=True)
class PlannerTruth:
    """One frame's truth: labelled boxes and their vehicle ids, positions, the ego lane."""

    ids: list[str]
    boxes: np.ndarray  # [N, 4] source pixels
    ground_xy: np.ndarray  # [N, 2] grid_frame, NaN where unknown
    ego: EgoLane


class PlannerTruthTopics:
    """The ground-truth topics under a prefix, read once and kept by stamp."""

    def __init__(self, bag: BagReader, prefix: str) -> None:
        self.topics = {
            "detections": f"{prefix}/detections",
            "objects": f"{prefix}/objects",
            **{side: f"{prefix}/ego_lane/{side}" for side in EGO_SIDES},
        }
        by_topic = {topic: name for name, topic in self.topics.items()}
        found: dict[int, dict[str, Any]] = {}
        for topic, _, msg in bag.messages(list(self.topics.values())):
            found.setdefault(messages.stamp_ns(msg.header), {})[by_topic[topic]] = msg
        self._frames = {
            stamp: self._truth(parts)
            for stamp, parts in found.items()
            if len(parts) == len(self.topics)
        }

    @staticmethod
    def present(bag: BagReader, prefix: str) -> bool:
        """Whether the bag carries the planner truth (a synth-bag drive)."""
        return f"{prefix}/objects" in bag.topics and f"{prefix}/ego_lane/center" in bag.topics

    @staticmethod
    def _truth(parts: dict[str, Any]) -> PlannerTruth:
        boxes, _, _ = messages.detections_from_msg(parts["detections"])
        ids = [d.id for d in parts["detections"].detections]
        object_ids, object_xy = objects_from_msg(parts["objects"])
        where = {ident: row for row, ident in enumerate(object_ids)}
        ground = np.full((len(ids), 2), np.nan)
        for row, ident in enumerate(ids):
            if ident in where:
                ground[row] = object_xy[where[ident]]
        ego = EgoLane(**{side: path_points(parts[side]) for side in EGO_SIDES})
        return PlannerTruth(ids, boxes.reshape(-1, 4), ground, ego)

    def get(self, stamp: int) -> PlannerTruth | None:
        return self._frames.get(stamp)


class PlannerMetrics:
    """objects.position_error_rel, tracking MOTA/IDF1/id switches, lane lateral errors."""

    def __init__(self, grid: GridSpec) -> None:
        self.grid = grid
        self.tracking = TrackingAccumulator()
        self.tracking_in_grid = TrackingAccumulator()
        self.lanes = LaneAccumulator()
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
        return {
            "frames": self.frames,
            "objects": {"position_error_rel": tracking.pop("position_error_rel")},
            "tracking": tracking,
            "tracking_in_grid": in_grid,
            "lanes": self.lanes.summary(),
        }

    def id_timeline(self) -> dict[str, dict[str, list]]:
        return self.tracking.id_timeline()
