"""Scoring a replay's path assessment (scene.lead.assess_path on every frame's tracks and lanes)
against a synthetic drive's truth: track velocities, lane indices and the lead vehicle.

Tracks are paired with true vehicles in the image as the tracking metrics pair them (IoU >= 0.5,
one to one, by optimal assignment), each track by the box of the detection that updated it this
frame (its predicted box while it coasts). Velocities and lanes are scored over the pairs whose
true vehicle lies inside the grid (the planner's region). A frame's lead is right when the
assessed lead is paired with the true lead, or when there is no assessed lead and no true lead
inside the grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..decoding.boxes import box_iou
from ..scene.ground import GridSpec
from ..scene.lanes import LaneEstimate
from ..scene.lead import assess_path
from ..scene.path import LANE_UNKNOWN
from ..scene.tracking import TrackResult
from ..scene.tracking.association import match_by_iou

MATCH_IOU = 0.5  # as TrackingAccumulator
TTC_LIMIT_S = 10.0  # TTC errors are scored where the true TTC is below this
VELOCITY_DESCRIPTION = (
    "median |estimated - true| velocity (m/s, x and y in grid_frame) of tracks paired with a "
    "true vehicle inside the grid; the tracker's velocities are relative to the ego vehicle and "
    "are compared with the true velocity relative to it"
)


@dataclass(frozen=True)
class MotionTruth:
    """A frame's motion truth, per true vehicle in PlannerTruth row order: velocity relative to
    the ego vehicle [N, 2] (NaN unknown) and lane index [N] (LANE_UNKNOWN unknown); the true
    lead's id ("" when there is none) and its time to collision (s)."""

    relative_velocity: np.ndarray
    lane_index: np.ndarray
    lead_id: str
    lead_ttc_s: float


def _json_number(value: float) -> float | None:
    """A float for JSON; None where undefined."""
    return float(value) if np.isfinite(value) else None


def pair_tracks(
    tracks: TrackResult, detection_boxes: np.ndarray, true_boxes: np.ndarray
) -> dict[int, int]:
    """Track row -> true row of the tracks paired with a true vehicle (IoU >= MATCH_IOU)."""
    boxes = np.array(tracks.boxes, np.float64).reshape(-1, 4)
    updated = tracks.detection_index >= 0
    boxes[updated] = np.asarray(detection_boxes, np.float64)[tracks.detection_index[updated]]
    true_boxes = np.asarray(true_boxes, np.float64).reshape(-1, 4)
    iou = box_iou(boxes, true_boxes)
    rows, cols = match_by_iou(iou, np.arange(len(boxes)), np.arange(len(true_boxes)), MATCH_IOU)
    return dict(zip(rows.tolist(), cols.tolist()))


class PathMetrics:
    """objects.velocity_error_mps, lanes.assignment_accuracy, lead.selection_accuracy and
    lead.ttc_error_rel over the frames that have motion truth."""

    def __init__(self, grid: GridSpec, class_names: Sequence[str]) -> None:
        self.grid = grid
        self.class_names = list(class_names)
        self.velocity_errors: list[float] = []
        self.lane_hits: list[bool] = []
        self.lead_hits: list[bool] = []
        self.ttc_errors: list[float] = []

    def _inside(self, xy: np.ndarray) -> np.ndarray:
        """Whether ground positions [N, 2] are known and inside the grid."""
        x, y = xy[:, 0], xy[:, 1]
        return np.isfinite(x) & np.isfinite(y) & self.grid.contains(x, y)

    def update(
        self,
        tracks: TrackResult | None,
        detection_boxes: np.ndarray,
        lanes: LaneEstimate | None,
        true_ids: list[str],
        true_boxes: np.ndarray,
        true_xy: np.ndarray,
        truth: MotionTruth,
    ) -> None:
        """Add one frame: its tracks, detection boxes and lanes against the true vehicles (ids,
        boxes, ground positions) and their motion truth."""
        if tracks is None:
            return
        assessment = assess_path(tracks, lanes, self.class_names)
        pairs = pair_tracks(tracks, detection_boxes, true_boxes)
        inside = self._inside(np.asarray(true_xy, np.float64).reshape(-1, 2))
        for row, true_row in pairs.items():
            if not inside[true_row]:
                continue
            error = tracks.ground_velocity[row] - truth.relative_velocity[true_row]
            if np.isfinite(error).all():
                self.velocity_errors.append(float(np.hypot(*error)))
            true_lane = int(truth.lane_index[true_row])
            if true_lane != LANE_UNKNOWN:
                self.lane_hits.append(int(assessment.lane_index[row]) == true_lane)
        true_lead = true_ids.index(truth.lead_id) if truth.lead_id in true_ids else None
        lead = assessment.lead
        if lead is None:
            right = true_lead is None or not inside[true_lead]
        else:
            right = true_lead is not None and pairs.get(lead.row) == true_lead
        self.lead_hits.append(right)
        if right and lead is not None and 0.0 < truth.lead_ttc_s < TTC_LIMIT_S:
            self.ttc_errors.append(abs(lead.ttc_s - truth.lead_ttc_s) / truth.lead_ttc_s)

    @property
    def frames(self) -> int:
        """Frames scored (each gives one lead verdict)."""
        return len(self.lead_hits)

    def summary(self) -> dict[str, Any]:
        """The report's path keys, by the planner section they join."""
        velocity = np.asarray(self.velocity_errors)
        ttc = np.asarray(self.ttc_errors)
        return {
            "objects": {
                "velocity_error_mps": {
                    "median": _json_number(np.median(velocity)) if velocity.size else None,
                    "p90": _json_number(np.percentile(velocity, 90)) if velocity.size else None,
                    "count": int(velocity.size),
                    "description": VELOCITY_DESCRIPTION,
                }
            },
            "lanes": {
                "assignment_accuracy": float(np.mean(self.lane_hits)) if self.lane_hits else None,
                "assignment_count": len(self.lane_hits),
            },
            "lead": {
                "frames": self.frames,
                "selection_accuracy": float(np.mean(self.lead_hits)) if self.lead_hits else None,
                "ttc_error_rel": {
                    "median": _json_number(np.median(ttc)) if ttc.size else None,
                    "count": int(ttc.size),
                    "ttc_below_s": TTC_LIMIT_S,
                },
            },
        }
