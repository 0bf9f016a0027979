"""Agreement of a candidate model with a reference model on the same frames, the reference's
outputs taken as pseudo-truth: how far a new model or a new export departs from the one it
replaces on drives that have no labels.

Per frame both models' `SessionFrame`s (same image, same camera model and pose, each with its
own tracker) are compared:

- detections: candidate and reference boxes (each above its own conf threshold) are paired one
  to one, same class, at IoU >= 0.5 in the candidate's score order (COCO's greedy rule at one
  threshold); precision = pairs / candidate boxes, recall = pairs / reference boxes, F1 their
  harmonic mean, per class and over all classes; mAP50 by evaluation's DetectionAccumulator
  (COCO protocol) with the reference boxes as labels.
- drivable and lane IoU between the two masks (per frame, 1 where both are empty; the mean
  over frames).
- ego lane: |candidate y - reference y| of the ego lane's boundaries at 10/20/30 m
  (evaluation's LaneAccumulator, the reference lane as truth).
- objects: |candidate - reference| ground position of paired detections, by the reference's
  range bin.
- tracking: among paired detections that both carry a track id, whose reference track was
  paired before, the share paired with the same candidate track as the last time.

Each frame's disagreement is 1 - mean(frame detection F1, frame drivable IoU); the frames that
disagree most are kept as side-by-side overlays (candidate | reference).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..decoding.boxes import box_iou
from ..errors import ConfigError
from ..evaluation import DetectionAccumulator, iou
from ..evaluation.lanes import LaneAccumulator
from ..fileio import write_bytes_atomic
from ..inference.pipeline import Pipeline
from ..inference.results import Detections, FrameResult
from ..outputs.overlay import draw_overlay
from ..outputs.settings import OutputSettings
from ..scene.lanes import EgoLane
from ..serving.session import CameraImage, CameraSession, SessionFrame
from .typestore import RosbagsFactory

MATCH_IOU = 0.5
RANGE_BINS_M = ((0.0, 10.0), (10.0, 20.0), (20.0, 30.0), (30.0, 40.0))
WORST_FRAMES = 10
OVERLAY_FOLDER = "agreement"
DISAGREEMENT = "1 - mean(frame detection F1, frame drivable IoU)"
# what the comparison reads of the reference's frames: detections (with their tracks and
# ground objects) and the lanes (which an ego lane output computes); nothing else is built
REFERENCE_OUTPUTS = ("detections", "ego_lane/center")


def pair_detections(candidate: Detections, reference: Detections) -> list[tuple[int, int]]:
    """(candidate row, reference row) pairs: in the candidate's score order each box takes the
    unpaired reference box of its class with the highest IoU >= MATCH_IOU."""
    if not len(candidate) or not len(reference):
        return []
    overlap = box_iou(candidate.boxes.astype(np.float64), reference.boxes.astype(np.float64))
    overlap[candidate.class_ids[:, None] != reference.class_ids[None, :]] = -1.0
    taken = np.zeros(len(reference), bool)
    pairs = []
    for row in np.argsort(-candidate.scores, kind="stable"):
        free = np.where(taken, -1.0, overlap[row])
        best = int(free.argmax())
        if free[best] >= MATCH_IOU:
            taken[best] = True
            pairs.append((int(row), best))
    return pairs


def _f1(matched: float, candidates: float, references: float) -> float:
    """2 TP / (candidates + references); 1 when neither model found anything."""
    total = candidates + references
    return 1.0 if total == 0 else 2.0 * matched / total


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 6)


def _rates(matched: int, candidates: int, references: int) -> dict[str, Any]:
    """Box counts and precision, recall, F1 of one class or of all."""
    return {
        "candidate_boxes": candidates,
        "reference_boxes": references,
        "matched": matched,
        "precision": _ratio(matched, candidates),
        "recall": _ratio(matched, references),
        "f1": round(_f1(matched, candidates, references), 6),
    }


def _ap(value: float, references: int) -> float | None:
    """An AP rounded for the report; None when the reference found nothing to score against."""
    return None if references == 0 or np.isnan(value) else round(float(value), 6)


def _mask_iou(candidate: np.ndarray | None, reference: np.ndarray | None) -> float | None:
    """IoU of two bool masks (the candidate's resized to the reference's size), None when a
    model has no such class."""
    if candidate is None or reference is None:
        return None
    if candidate.shape != reference.shape:
        size = reference.shape[1::-1]
        resized = cv2.resize(candidate.view(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        candidate = resized.view(bool)
    return float(iou(candidate, reference))


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 6) if values else None


@dataclass(order=True)
class _WorstFrame:
    """A frame among the most disagreeing, ordered by disagreement (earlier frames first)."""

    disagreement: float
    later: int  # -index: on ties the earlier frame ranks as worse
    info: dict[str, Any] = field(compare=False)
    overlay: np.ndarray = field(compare=False)


class AgreementMetrics:
    """Accumulates the comparison of candidate and reference frames; `summary()` gives the
    report's `agreement` section."""

    def __init__(self, class_names: list[str], reference: str, keep: int = WORST_FRAMES) -> None:
        self.class_names = class_names
        self.reference = reference
        self.keep = keep
        count = len(class_names)
        self.matched = np.zeros(count, np.int64)
        self.candidate_boxes = np.zeros(count, np.int64)
        self.reference_boxes = np.zeros(count, np.int64)
        self.ap = DetectionAccumulator(count, "coco")
        self.drivable: list[float] = []
        self.lane: list[float] = []
        self.lanes = LaneAccumulator()
        self.positions: list[tuple[float, float]] = []  # (reference range, difference) in m
        self.partner: dict[str, str] = {}  # reference track id -> candidate track id last paired
        self.tracks_compared = self.tracks_kept = 0
        self.worst: list[_WorstFrame] = []
        self.frames = 0

    def update(self, index: int, image: CameraImage, cand: SessionFrame, ref: SessionFrame) -> None:
        """Compare one frame's two outputs (same image)."""
        c, r = cand.result, ref.result
        pairs = pair_detections(c.detections, r.detections)
        count = len(self.class_names)
        self.candidate_boxes += np.bincount(c.class_ids, minlength=count)
        self.reference_boxes += np.bincount(r.class_ids, minlength=count)
        for row, _ in pairs:
            self.matched[c.class_ids[row]] += 1
        self.ap.update(c.boxes, c.scores, c.class_ids, r.boxes, r.class_ids)
        drivable = _mask_iou(c.drivable, r.drivable)
        lane = _mask_iou(c.lane, r.lane)
        if drivable is not None:
            self.drivable.append(drivable)
        if lane is not None:
            self.lane.append(lane)
        self.lanes.update(_ego(cand), _ego(ref))
        self._positions(cand, ref, pairs)
        self._tracks(cand, ref, pairs)
        f1 = _f1(len(pairs), len(c), len(r))
        disagreement = 1.0 - float(np.mean([f1] if drivable is None else [f1, drivable]))
        info = {
            "index": index,
            "stamp_ns": image.stamp,
            "disagreement": round(disagreement, 6),
            "f1": round(f1, 6),
            "drivable_iou": None if drivable is None else round(drivable, 6),
            "lane_iou": None if lane is None else round(lane, 6),
        }
        self._keep_worst(_WorstFrame(disagreement, -index, info, np.empty(0)), image, c, r)
        self.frames += 1

    def _positions(self, cand: SessionFrame, ref: SessionFrame, pairs: list) -> None:
        """Ground-position differences of paired detections both located on the ground."""
        c, r = cand.scene.objects, ref.scene.objects
        if c is None or r is None:
            return
        for row, col in pairs:
            if c.valid[row] and r.valid[col]:
                difference = float(np.linalg.norm(c.position[row] - r.position[col]))
                self.positions.append((float(r.range[col]), difference))

    def _tracks(self, cand: SessionFrame, ref: SessionFrame, pairs: list) -> None:
        """Whether each tracked pair keeps the correspondence its reference track had before."""
        c_ids = cand.scene.track_ids(len(cand.result))
        r_ids = ref.scene.track_ids(len(ref.result))
        for row, col in pairs:
            c_id, r_id = c_ids[row], r_ids[col]
            if not (c_id and r_id):
                continue
            if r_id in self.partner:
                self.tracks_compared += 1
                self.tracks_kept += int(self.partner[r_id] == c_id)
            self.partner[r_id] = c_id

    def _keep_worst(
        self, entry: _WorstFrame, image: CameraImage, cand: FrameResult, ref: FrameResult
    ) -> None:
        """Keep the `keep` most disagreeing frames, drawing the overlay only for those kept."""
        if len(self.worst) >= self.keep and entry <= self.worst[0]:
            return
        entry.overlay = side_by_side(image, cand, ref)
        if len(self.worst) < self.keep:
            heapq.heappush(self.worst, entry)
        else:
            heapq.heapreplace(self.worst, entry)

    def worst_frames(self) -> list[_WorstFrame]:
        """The kept frames, most disagreeing first."""
        return sorted(self.worst, reverse=True)

    @staticmethod
    def overlay_name(rank: int, entry: _WorstFrame) -> str:
        return f"{OVERLAY_FOLDER}/worst_{rank:02d}_frame_{entry.info['index']:06d}.jpg"

    def write_overlays(self, out_dir: Path) -> list[Path]:
        """Write the worst frames' overlays under out_dir (names as in `summary`)."""
        written = []
        for rank, entry in enumerate(self.worst_frames(), 1):
            path = out_dir / self.overlay_name(rank, entry)
            path.parent.mkdir(parents=True, exist_ok=True)
            ok, data = cv2.imencode(".jpg", entry.overlay, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                raise ConfigError(f"could not encode the overlay {path.name} as jpeg")
            write_bytes_atomic(path, data.tobytes())
            written.append(path)
        return written

    def detection(self) -> dict[str, Any]:
        """Precision, recall, F1 (IoU 0.5) overall and per class, mAP50 against the reference."""
        ap = self.ap.compute(self.class_names)
        counts = np.stack([self.matched, self.candidate_boxes, self.reference_boxes], axis=1)
        per_class = {
            name: {**_rates(*row), "AP50": _ap(ap["per_class"][name]["AP50"], row[2])}
            for name, row in zip(self.class_names, counts.tolist())
        }
        total = counts.sum(axis=0).tolist()
        return {"iou": MATCH_IOU, **_rates(*total), "mAP50": _ap(ap["mAP50"], total[2]),
                "per_class": per_class}  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """The report's `agreement` section (see the module docstring for each key)."""
        detection = self.detection()
        drivable, lane = _mean(self.drivable), _mean(self.lane)
        lanes = self.lanes.summary()
        return {
            "reference": self.reference,
            "frames": self.frames,
            "score": agreement_score(detection["f1"], drivable, lane),
            "detection": detection,
            "drivable_iou": drivable,
            "lane_iou": lane,
            "ego_lane": {
                "lateral_difference_m": lanes["lateral_error_m"],
                "lateral_difference_p90_m": lanes["lateral_error_p90_m"],
                "center_lateral_difference_m": lanes["center_lateral_error_m"],
                "samples": lanes["counts"]["boundary_samples"],
            },
            "objects": {"position_difference_m": self._position_bins()},
            "tracking": {
                "id_agreement": _ratio(self.tracks_kept, self.tracks_compared),
                "pairs_compared": self.tracks_compared,
            },
            "disagreement": DISAGREEMENT,
            "worst_frames": [
                {**entry.info, "overlay": self.overlay_name(rank, entry)}
                for rank, entry in enumerate(self.worst_frames(), 1)
            ],
        }

    def _position_bins(self) -> dict[str, dict[str, Any]]:
        """Median (and p90) position difference and count per reference range bin."""
        found = np.array(self.positions, np.float64).reshape(-1, 2)
        bins = {}
        for low, high in RANGE_BINS_M:
            inside = found[(found[:, 0] >= low) & (found[:, 0] < high), 1]
            bins[f"{low:g}-{high:g}"] = {
                "count": int(inside.size),
                "median": round(float(np.median(inside)), 4) if inside.size else None,
                "p90": round(float(np.percentile(inside, 90)), 4) if inside.size else None,
            }
        return bins


def agreement_score(f1: float, drivable: float | None, lane: float | None) -> float:
    """The gate's single number: the least of detection F1, drivable IoU and lane IoU (those
    the models have)."""
    return round(min(v for v in (f1, drivable, lane) if v is not None), 6)


def _ego(frame: SessionFrame) -> EgoLane:
    return frame.lanes.ego if frame.lanes is not None else EgoLane()


def side_by_side(image: CameraImage, cand: FrameResult, ref: FrameResult) -> np.ndarray:
    """The frame drawn twice, candidate left and reference right, each captioned."""
    pixels = image.pixels
    bgr = pixels if image.color == "bgr" else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    panels = []
    for caption, result in (("candidate", cand), ("reference", ref)):
        panel = draw_overlay(bgr, result)
        scale = max(0.4, bgr.shape[0] / 720)
        cv2.putText(panel, caption, (8, round(24 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), max(1, round(2 * scale)), cv2.LINE_AA)  # fmt: skip
        panels.append(panel)
    return np.hstack(panels)


class ReferenceRun:
    """The reference model beside a replay: its own session (tracker, camera models) fed the
    same frames and camera_info, each frame compared with the candidate's."""

    def __init__(
        self, pipeline: Pipeline, settings: OutputSettings, class_names: list[str], name: str
    ) -> None:
        if pipeline.class_names != class_names:
            raise ConfigError(
                f"the reference {name} detects {pipeline.class_names}, the candidate "
                f"{class_names}; compare models with the same classes"
            )
        self.pipeline = pipeline
        self.session = CameraSession(RosbagsFactory(), settings, pipeline.class_names)
        self.metrics = AgreementMetrics(class_names, name)

    def add_camera_info(self, msg: Any) -> None:
        self.session.add_camera_info(msg)

    def compare(
        self, indices: list[int], images: list[CameraImage], candidates: list[SessionFrame]
    ) -> None:
        """Run the reference on one batch of images and compare with the candidate's frames."""
        results = self.pipeline.run_batch([i.pixels for i in images], images[0].color)
        for index, image, result, cand in zip(indices, images, results, candidates):
            ref = self.session.process(result, image, REFERENCE_OUTPUTS)
            self.metrics.update(index, image, cand, ref)
