"""Tracking metrics over a sequence, fed frame by frame.

- CLEAR-MOT and identity metrics come from motmetrics: per frame, predicted tracks and true
  objects are paired in the image where IoU >= `iou_threshold` (distance 1 - IoU). MOTA =
  1 - (misses + false positives + id switches) / true objects; IDF1 = 2 IDTP / (true objects +
  predictions) under the best one-to-one mapping of true ids to predicted ids over the whole
  sequence; an id switch is a true object matched to another predicted id than at its last match.
- Object position error: for every matched pair whose true and predicted ground positions are
  both known, |predicted - true| / true range (distance from the vehicle-frame origin), and per
  range bin [lo, hi) of the true range the median and count of these.
- The id timeline: per true object, the frames it appears in and the predicted id matched to it
  there (None when missed), for a plot of id continuity.
- A region of interest (e.g. the planner's grid), as nuScenes limits its evaluation range:
  predictions flagged outside it are removed, and true objects flagged outside it are removed
  together with the prediction paired with each (best IoU >= `iou_threshold`, one to one), as
  MOTChallenge removes its distractors, so tracking them is neither credited nor punished.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import motmetrics
import numpy as np

from ..decoding.boxes import box_iou
from ..errors import ConfigError, InputError
from ..scene.tracking.association import match_by_iou

RANGE_BINS_M = (0.0, 10.0, 20.0, 30.0, 40.0)
MATCH_EVENTS = ("MATCH", "SWITCH")  # motmetrics' event types of a matched pair
COUNTS = {  # summary key: motmetrics metric
    "id_switches": "num_switches",
    "num_frames": "num_frames",
    "num_objects": "num_objects",
    "num_predictions": "num_predictions",
    "num_unique_objects": "num_unique_objects",
    "matches": "num_detections",  # matched pairs, the frames of id switches included
    "misses": "num_misses",
    "false_positives": "num_false_positives",
    "idtp": "idtp",
    "idfp": "idfp",
    "idfn": "idfn",
}
RATES = {"mota": "mota", "idf1": "idf1", "motp": "motp"}  # motp: mean 1 - IoU of matches


def _ids(values: Sequence[Any], count: int, what: str) -> list[str]:
    """Ids as strings, checked to be `count` unique non-empty ones."""
    ids = [str(v) for v in values]
    if len(ids) != count:
        raise InputError(f"{what} ids: {len(ids)} for {count} boxes; give one id per box")
    if "" in ids or len(set(ids)) != count:
        raise InputError(f"{what} ids must be non-empty and unique within a frame, got {ids}")
    return ids


def _boxes(values: np.ndarray, what: str) -> np.ndarray:
    """(x1, y1, x2, y2) boxes [N, 4] as float64."""
    boxes = np.asarray(values, dtype=np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or not np.isfinite(boxes).all():
        raise InputError(f"{what} boxes must be finite [N, 4] (x1, y1, x2, y2), got {boxes.shape}")
    return boxes


def _positions(values: np.ndarray | None, ids: list[str], what: str) -> dict[str, np.ndarray]:
    """Known ground positions by id; rows with NaN (or no array at all) are unknown."""
    if values is None:
        return {}
    xy = np.array(values, dtype=np.float64)  # a copy: callers may reuse their array
    if xy.shape != (len(ids), 2):
        raise InputError(f"{what} ground positions must be [{len(ids)}, 2], got {xy.shape}")
    known = np.isfinite(xy).all(axis=1)
    return {i: p for i, p, k in zip(ids, xy, known) if k}


def _flags(values: np.ndarray | None, count: int, what: str) -> np.ndarray:
    """Boolean flags [count]; all False when not given."""
    if values is None:
        return np.zeros(count, bool)
    flags = np.asarray(values, bool).reshape(-1)
    if len(flags) != count:
        raise InputError(f"{what} ignored flags: {len(flags)} for {count} boxes")
    return flags


def _paired_with(ignored: np.ndarray, iou: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Columns (predictions) paired one to one with an ignored row (true object), by the
    tracker's own optimal IoU matching at IoU >= iou_threshold."""
    dropped = np.zeros(iou.shape[1], bool)
    if ignored.any():
        every = (np.arange(iou.shape[0]), np.arange(iou.shape[1]))
        rows, cols = match_by_iou(iou, *every, iou_threshold)
        dropped[cols[ignored[rows]]] = True
    return dropped


def _json_number(value: float) -> float | None:
    """A float for JSON; None where undefined (NaN or infinite, e.g. no true objects)."""
    value = float(value)
    return value if math.isfinite(value) else None


class TrackingAccumulator:
    """Streams frames of (predicted tracks, ground truth) and summarises the sequence."""

    def __init__(
        self, iou_threshold: float = 0.5, range_bins_m: Sequence[float] = RANGE_BINS_M
    ) -> None:
        if not 0.0 < iou_threshold <= 1.0:
            raise ConfigError(f"tracking iou_threshold must be in (0, 1], got {iou_threshold}")
        edges = np.asarray(range_bins_m, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 2 or (np.diff(edges) <= 0).any() or edges[0] < 0:
            raise ConfigError(f"range bins must be increasing edges >= 0, got {range_bins_m}")
        self.iou_threshold = iou_threshold
        self.range_edges = edges
        self._mot = motmetrics.MOTAccumulator(auto_id=True)
        # motmetrics 1.4 stores ids as floats: ours are numbered, both kinds separately
        self._true_codes: dict[str, int] = {}
        self._predicted_codes: dict[str, int] = {}
        self._true_xy: list[dict[str, np.ndarray]] = []
        self._predicted_xy: list[dict[str, np.ndarray]] = []
        self.ignored = {"objects": 0, "predictions": 0}

    def update(
        self,
        predicted_ids: Sequence[Any],
        predicted_boxes: np.ndarray,
        true_ids: Sequence[Any],
        true_boxes: np.ndarray,
        predicted_ground_xy: np.ndarray | None = None,
        true_ground_xy: np.ndarray | None = None,
        true_ignored: np.ndarray | None = None,
        predicted_ignored: np.ndarray | None = None,
    ) -> None:
        """Add one frame: tracks (ids, boxes in pixels) and true objects (persistent ids,
        boxes); ground positions [N, 2] in the vehicle frame are optional, NaN rows unknown;
        `true_ignored` / `predicted_ignored` flag those outside the region of interest."""
        predicted_boxes = _boxes(predicted_boxes, "predicted")
        true_boxes = _boxes(true_boxes, "true")
        predicted = _ids(predicted_ids, len(predicted_boxes), "predicted")
        truth = _ids(true_ids, len(true_boxes), "true")
        iou = box_iou(true_boxes, predicted_boxes)
        ignored = _flags(true_ignored, len(truth), "true")
        true_xy = _positions(true_ground_xy, truth, "true")
        predicted_xy = _positions(predicted_ground_xy, predicted, "predicted")
        outside = _flags(predicted_ignored, len(predicted), "predicted")
        iou[:, outside] = 0.0
        dropped = outside | _paired_with(ignored, iou, self.iou_threshold)
        self.ignored["objects"] += int(ignored.sum())
        self.ignored["predictions"] += int(dropped.sum())
        iou = iou[~ignored][:, ~dropped]
        truth = [i for i, skip in zip(truth, ignored) if not skip]
        predicted = [i for i, skip in zip(predicted, dropped) if not skip]
        distance = np.where(iou >= self.iou_threshold, 1.0 - iou, np.nan)
        self._true_xy.append({i: true_xy[i] for i in truth if i in true_xy})
        self._predicted_xy.append({i: predicted_xy[i] for i in predicted if i in predicted_xy})
        self._mot.update(
            [self._true_codes.setdefault(i, len(self._true_codes)) for i in truth],
            [self._predicted_codes.setdefault(i, len(self._predicted_codes)) for i in predicted],
            distance,
        )

    def summary(self) -> dict[str, Any]:
        """JSON-ready totals: MOTA, IDF1, id switches, counts and the position-error table."""
        if not self._true_xy:
            values: dict[str, Any] = dict.fromkeys(COUNTS, 0) | dict.fromkeys(RATES)
        else:
            computed = motmetrics.metrics.create().compute(
                self._mot,
                metrics=sorted(set(COUNTS.values()) | set(RATES.values())),
                return_dataframe=False,
            )
            values = {key: int(computed[name]) for key, name in COUNTS.items()}
            values |= {key: _json_number(computed[name]) for key, name in RATES.items()}
        return {
            "iou_threshold": self.iou_threshold,
            **values,
            "ignored_objects": self.ignored["objects"],
            "ignored_predictions": self.ignored["predictions"],
            "position_error_rel": self._position_errors(),
        }

    def id_timeline(self) -> dict[str, dict[str, list]]:
        """Per true id: "frames" (0-based update order) and "track_ids" (matched predicted
        id there, None when missed)."""
        timeline: dict[str, dict[str, list]] = {}
        for frame, kind, true_id, track_id in self._events(("MISS", *MATCH_EVENTS)):
            entry = timeline.setdefault(true_id, {"frames": [], "track_ids": []})
            entry["frames"].append(frame)
            entry["track_ids"].append(None if kind == "MISS" else track_id)
        return timeline

    def _events(self, kinds: tuple[str, ...]) -> list[tuple[int, str, str, str | None]]:
        """motmetrics events of the given types as (frame, type, true id, predicted id or
        None), in frame order."""
        if not self._true_xy:
            return []
        events = self._mot.mot_events
        events = events[events["Type"].isin(kinds)]
        frames = events.index.get_level_values("FrameId").tolist()
        true_ids = list(self._true_codes)
        predicted_ids = [*self._predicted_codes, None]  # motmetrics' NaN: index -1
        true_rows = events["OId"].to_numpy().astype(np.intp)
        predicted_rows = np.nan_to_num(events["HId"].to_numpy(), nan=-1).astype(np.intp)
        return [
            (frame, kind, true_ids[o], predicted_ids[h])
            for frame, kind, o, h in zip(frames, events["Type"], true_rows, predicted_rows)
        ]

    def _position_errors(self) -> dict[str, dict[str, Any]]:
        """Median relative ground-position error and pair count per true-range bin."""
        ranges, errors = [], []
        for frame, _, true_id, track_id in self._events(MATCH_EVENTS):
            truth = self._true_xy[frame].get(true_id)
            predicted = self._predicted_xy[frame].get(track_id)
            if truth is None or predicted is None:
                continue
            true_range = float(np.hypot(*truth))
            if true_range > 0.0:
                ranges.append(true_range)
                errors.append(float(np.hypot(*(predicted - truth))) / true_range)
        ranges_arr, errors_arr = np.asarray(ranges), np.asarray(errors)
        table = {}
        for lo, hi in zip(self.range_edges[:-1], self.range_edges[1:]):
            inside = errors_arr[(ranges_arr >= lo) & (ranges_arr < hi)]
            table[f"{lo:g}-{hi:g}"] = {
                "count": len(inside),
                "median": float(np.median(inside)) if len(inside) else None,
            }
        return table
