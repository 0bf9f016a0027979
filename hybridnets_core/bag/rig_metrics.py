"""Scores of a multi-camera replay against a rig drive's truth: fused-object duplicates and
cross-camera id consistency, fused and per-camera tracking (IDF1) inside the grid, object
position errors per camera and fused, and the surround grid's IoU with the true drivable area.

Objects are compared at their middles: the truth's footprint centres
(`<gt>/tracked_objects`) against the fused objects' positions and each camera's object
centres. A fused object belongs to the nearest true vehicle within `match_radius` (grows with
range, as monocular range error does); duplicates are the extra fused objects of one vehicle.
Tracking reuses evaluation/tracking.py on the ground: each object as a square of side
2 x match_radius around its middle, paired at IoU >= GROUND_IOU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..decoding.boxes import box_iou
from ..evaluation.tracking import TrackingAccumulator
from ..scene.fusion import CameraObservations, FusedObjects
from ..scene.ground import UNSEEN, GridSpec
from ..scene.tracking.association import match_by_iou
from ..serving.session import SessionFrame

MATCH_BASE_M = 1.5
MATCH_PER_M = 0.15  # of the true range
GROUND_IOU = 0.3
BOX_IOU = 0.5  # a camera's track box to a true box of that camera


def match_radius(range_m: np.ndarray) -> np.ndarray:
    """How far (m) an object's estimated middle may be from the true one and still be it."""
    return MATCH_BASE_M + MATCH_PER_M * np.asarray(range_m, dtype=np.float64)


@dataclass(frozen=True)
class RigTruth:
    """One frame's truth: true vehicle ids and footprint centres [N, 2] in base_link, the
    cameras' labels (camera -> (ids, boxes [K, 4])), and the road's drivable strip as its
    left and right edge lines ([M, 2] points, x forward) or None."""

    ids: list[str]
    centres: np.ndarray
    boxes: dict[str, tuple[list[str], np.ndarray]]
    edges: tuple[np.ndarray, np.ndarray] | None


def ground_squares(centres: np.ndarray) -> np.ndarray:
    """[N, 4] squares (x1, y1, x2, y2) of side 2 x match_radius around ground points."""
    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    half = match_radius(np.hypot(*centres.T))[:, None]
    return np.concatenate([centres - half, centres + half], axis=1)


def true_drivable(
    edges: tuple[np.ndarray, np.ndarray], grid: GridSpec
) -> tuple[np.ndarray, np.ndarray]:
    """bool [height, width] each: cells between the road's edges, and cells where the edges
    are known (within their x range)."""
    xs, ys = grid.cell_centres()
    left = np.interp(xs, edges[0][:, 0], edges[0][:, 1], left=np.nan, right=np.nan)
    right = np.interp(xs, edges[1][:, 0], edges[1][:, 1], left=np.nan, right=np.nan)
    known = ~(np.isnan(left) | np.isnan(right))
    return known & (ys <= left) & (ys >= right), known


def _inside(centres: np.ndarray, grid: GridSpec) -> np.ndarray:
    """bool [N]: ground points inside the grid."""
    x, y = np.asarray(centres, dtype=np.float64).reshape(-1, 2).T
    return (x >= grid.x_min) & (x < grid.x_max) & (y >= grid.y_min) & (y < grid.y_max)


@dataclass
class RigMetrics:
    """Accumulates the rig scores frame by frame; `summary()` gives report.json's sections."""

    cameras: list[str]
    grid: GridSpec
    frames: int = 0
    duplicates: int = 0
    fused_errors: list[float] = field(default_factory=list)
    camera_errors: dict[str, list[float]] = field(default_factory=dict)
    fused_ids: dict[str, set[str]] = field(default_factory=dict)  # true id -> fused ids
    seen_by: dict[str, set[str]] = field(default_factory=dict)  # true id -> cameras
    grid_iou: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fused_tracking = TrackingAccumulator(GROUND_IOU)
        self.observed_tracking = TrackingAccumulator(GROUND_IOU)  # updated this batch only
        self.camera_tracking = {c: TrackingAccumulator(GROUND_IOU) for c in self.cameras}

    def update(
        self,
        truth: RigTruth,
        fused: FusedObjects | None,
        frames: dict[str, SessionFrame],
        surround: np.ndarray | None,
    ) -> None:
        """Score one frame: the fused objects, every camera's frame and the surround grid."""
        self.frames += 1
        for camera, (ids, _) in truth.boxes.items():
            for ident in ids:
                self.seen_by.setdefault(ident, set()).add(camera)
        ignored = ~_inside(truth.centres, self.grid)
        squares = ground_squares(truth.centres)
        if fused is not None:
            self._fused(truth, fused)
            outside = ~_inside(fused.position, self.grid)
            fused_squares = ground_squares(fused.position)
            for accumulator, skip in (
                (self.fused_tracking, outside),
                (self.observed_tracking, outside | (fused.time_since_update_s > 0)),
            ):
                accumulator.update(
                    fused.ids,
                    fused_squares,
                    truth.ids,
                    squares,
                    true_ignored=ignored,
                    predicted_ignored=skip,
                )
        for camera, frame in frames.items():
            tracks, objects = frame.scene.tracks, frame.scene.objects
            if tracks is None or objects is None:
                continue
            obs = CameraObservations.of(camera, tracks, objects)
            self.camera_tracking[camera].update(
                obs.track_ids,
                ground_squares(obs.centre),
                truth.ids,
                squares,
                true_ignored=ignored,
                predicted_ignored=~_inside(obs.centre, self.grid),
            )
            self._camera_errors(camera, truth, frame)
        if surround is not None and truth.edges is not None:
            self._grid(surround, truth.edges)

    def _fused(self, truth: RigTruth, fused: FusedObjects) -> None:
        """Duplicates (fused objects nearest one true vehicle, minus one), the fused ids each
        vehicle had, and the position error of the nearest fused object of each vehicle."""
        if not len(truth.ids) or not len(fused):
            return
        distance = np.linalg.norm(fused.position[:, None] - truth.centres[None], axis=2)
        nearest = np.argmin(distance, axis=1)
        ranges = np.hypot(*truth.centres.T)
        close = distance[np.arange(len(fused)), nearest] <= match_radius(ranges[nearest])
        for vehicle in range(len(truth.ids)):
            mine = np.flatnonzero(close & (nearest == vehicle))
            if mine.size == 0:
                continue
            self.duplicates += mine.size - 1
            best = mine[np.argmin(distance[mine, vehicle])]
            self.fused_ids.setdefault(truth.ids[vehicle], set()).add(fused.ids[best])
            if ranges[vehicle] > 0:
                self.fused_errors.append(float(distance[best, vehicle] / ranges[vehicle]))

    def _camera_errors(self, camera: str, truth: RigTruth, frame: SessionFrame) -> None:
        """|object centre - true centre| / true range of the camera's matched tracks, paired
        with the camera's true boxes by IoU."""
        ids, boxes = truth.boxes.get(camera, ([], np.zeros((0, 4))))
        tracks, objects = frame.scene.tracks, frame.scene.objects
        rows = np.flatnonzero(tracks.detection_index >= 0)
        if not len(ids) or not rows.size:
            return
        iou = box_iou(tracks.boxes[rows], boxes)
        pairs = match_by_iou(iou, np.arange(len(rows)), np.arange(len(ids)), BOX_IOU)
        where = {ident: k for k, ident in enumerate(truth.ids)}
        errors = self.camera_errors.setdefault(camera, [])
        for row, col in zip(*pairs):
            detection = tracks.detection_index[rows[row]]
            if not objects.valid[detection] or ids[col] not in where:
                continue
            centre = truth.centres[where[ids[col]]]
            estimate = objects.centre[detection]
            errors.append(float(np.linalg.norm(estimate - centre) / np.hypot(*centre)))

    def _grid(self, surround: np.ndarray, edges: tuple[np.ndarray, np.ndarray]) -> None:
        """IoU of the drivable cells (0) with the true drivable area, over the seen cells."""
        truth, known = true_drivable(edges, self.grid)
        seen = (surround != UNSEEN) & known
        predicted = (surround == 0) & seen
        truth = truth & seen
        union = int(np.count_nonzero(predicted | truth))
        if union:
            self.grid_iou.append(int(np.count_nonzero(predicted & truth)) / union)

    def summary(self) -> dict[str, Any]:
        """report.json's fusion, tracking, objects and grid sections."""
        multi = [i for i, cameras in self.seen_by.items() if len(cameras) >= 2]
        matched = [i for i in multi if i in self.fused_ids]
        kept = [i for i in matched if len(self.fused_ids[i]) == 1]
        fused = self.fused_tracking.summary()
        observed = self.observed_tracking.summary()
        per_camera = {c: self.camera_tracking[c].summary() for c in self.cameras}
        return {
            "fusion": {
                "frames": self.frames,
                "duplicates_per_frame": self.duplicates / self.frames if self.frames else None,
                "cross_camera_id_consistency": len(kept) / len(matched) if matched else None,
                "vehicles_seen_by_several_cameras": len(multi),
                "of_them_fused": len(matched),
            },
            "tracking": {
                "idf1": fused.get("idf1"),
                "mota": fused.get("mota"),
                "id_switches": fused.get("id_switches"),
                "idf1_observed": observed.get("idf1"),
                "mota_observed": observed.get("mota"),
                "idf1_per_camera": {c: s.get("idf1") for c, s in per_camera.items()},
                "match": f"ground squares of side 2 x ({MATCH_BASE_M} m + {MATCH_PER_M} x "
                f"range) around object middles, IoU >= {GROUND_IOU}, inside the grid",
            },
            "objects": {
                "position_error_rel": {
                    "fused": _median(self.fused_errors),
                    **{c: _median(self.camera_errors.get(c, [])) for c in self.cameras},
                },
                "matches": {
                    "fused": len(self.fused_errors),
                    **{c: len(self.camera_errors.get(c, [])) for c in self.cameras},
                },
            },
            "grid": {"iou": float(np.mean(self.grid_iou)) if self.grid_iou else None},
        }


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None
