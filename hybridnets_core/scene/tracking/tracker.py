"""Multi-object tracker: ByteTrack-style two-stage IoU association over per-frame detections,
constant-velocity filters on the image box and on the ground position, real-time stamps.

Track states (`TrackState`):
- TENTATIVE: started by an unmatched detection with score >= new_track_score; not reported.
  It becomes TRACKED once it has `min_hits` detections in consecutive frames, and is deleted
  the first frame it goes unmatched.
- TRACKED: confirmed and matched in the current frame; it has its public id from then on.
- LOST: confirmed but unmatched in the current frame; it coasts on its predictions, is still
  reported (time_since_update_s > 0), and returns to TRACKED when matched again. It is deleted
  once more than `max_age_s` has passed since its last detection.

Association per frame, each stage an optimal assignment on IoU with the predicted boxes:
1. confirmed tracks (TRACKED and LOST) against detections with score >= high_score;
2. TENTATIVE tracks against the high-score detections left over;
3. tracks TRACKED in the previous frame and still unmatched against the low-score detections
   (low_score <= score < high_score), at the stricter `min_iou_low`. As in ByteTrack, a
   low-score box may continue a track but neither revive a LOST one nor start a new one.
Detections below low_score are ignored.

Classes: association ignores the class unless `class_aware` is set, so a detector that flickers
between similar classes (car / truck) does not break tracks. A track's class is the one with the
largest summed detection score over its life, so it changes only when another class has
outweighed the old one. With `class_aware`, tracks only take detections of their own class.

Ids: positive integers from a counter that lives as long as the tracker (also across `reset`),
handed out when a track is confirmed, so reported ids are never reused. They are given as
strings, as vision_msgs' Detection2D.id and Detection3D.id expect.

Time: dt comes from the frame stamps (nanoseconds). A stamp that is not strictly after the
previous one raises InputError (nothing is changed); call `reset` after a deliberate time jump.

Motion (motion.py): association predicts each track's image box with a constant-velocity
filter on (cx, cy, w, h). It works for every track, also those whose ground position is
unknown (no calibration, box cut by the image border) and it follows the image motion that
the vehicle's own pitch and yaw cause, which a prediction through the ground plane would
have to model separately. A second constant-velocity filter on the ground position (x, y,
vx, vy) starts at a track's first valid ground position, is predicted every frame and updated
with each matched detection's ground position and its covariance; it gives the velocities
and plays no part in association. A measurement's error may have a part that persists over
frames (`ground_bias_cov`: the tilt of the line of sight, objects.py): the filter leaves it out
of its measurement noise, which would otherwise make the velocities lag, and adds the latest
one to the position covariance it reports. A ground state that has only been predicted for
longer than `ground_max_coast_s` (its detections not located: cut at the image's side or
bottom) is forgotten, and the next located detection starts it afresh. Ground positions are
in the vehicle frame, which moves with the vehicle: the velocities are relative to the vehicle,
not over the ground.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from ...decoding.boxes import box_geometry, box_iou
from ...errors import ConfigError, InputError
from ...settings import check_settings, setting
from .association import match_by_iou
from .motion import BoxFilter, GroundFilter
from .table import TrackTable

NS_PER_S = 1_000_000_000


class TrackState(IntEnum):
    """Life cycle of a track; deleted tracks are simply gone."""

    TENTATIVE = 0
    TRACKED = 1
    LOST = 2


# plain ints for the array comparisons of the hot path (IntEnum members compare slowly there)
TENTATIVE, TRACKED, LOST = (int(state) for state in TrackState)


@dataclass(frozen=True)
class TrackerSettings:
    """Association thresholds, track life cycle and filter noise (defaults after ByteTrack)."""

    high_score: float = setting(
        0.5, "Detections from this score are matched in the first stage.", low=0.0, high=1.0
    )
    low_score: float = setting(
        0.1,
        "Detections from this score up to high_score may only continue a track tracked in the "
        "previous frame; lower ones are ignored.",
        low=0.0,
        high=1.0,
    )
    new_track_score: float = setting(
        0.6, "An unmatched detection from this score starts a track.", low=0.0, high=1.0
    )
    min_iou: float = setting(
        0.2, "Least IoU of a first-stage (and tentative-track) match.", low=0.01, high=1.0
    )
    min_iou_low: float = setting(
        0.5, "Least IoU of a low-score detection's (second-stage) match.", low=0.01, high=1.0
    )
    class_aware: bool = setting(
        False,
        "A track only takes detections of its own class (false: a detector flickering between "
        "car and truck keeps one track).",
    )
    # 2 as ByteTrack, which activates a new track when it is matched again in the next frame
    min_hits: int = setting(
        2,
        "Detections in consecutive frames before a track is confirmed and gets its id.",
        low=1,
        high=1000,
    )
    max_age_s: float = setting(
        1.0, "A confirmed track lives this long (s) after its last detection.", low=0.01, high=600.0
    )
    # image box filter; units are the box's own width (x terms) or height (y terms)
    box_position_accel: float = setting(
        4.0, "Box-centre acceleration noise (box sizes / s^2).", low=0.001, high=1000.0
    )
    box_size_accel: float = setting(
        1.0,
        "Box width / height change acceleration noise (box sizes / s^2).",
        low=0.001,
        high=1000.0,
    )
    box_measurement_std: float = setting(
        0.05, "Detector box noise per coordinate (box sizes).", low=0.0001, high=10.0
    )
    box_initial_velocity_std: float = setting(
        5.0, "Box velocity uncertainty of a new track (box sizes / s).", low=0.001, high=1000.0
    )
    # ground filter, vehicle frame
    ground_accel_std: float = setting(
        4.0, "Ground white-acceleration noise (m / s^2; q = std^2).", low=0.001, high=100.0
    )
    ground_initial_velocity_std: float = setting(
        10.0, "Ground velocity uncertainty of a new track (m / s).", low=0.001, high=1000.0
    )
    ground_max_coast_s: float = setting(
        1.0,
        "A track's ground position is predicted for at most this long (s) after its last ground "
        "measurement, then unknown until the next one (an object cut at the image's side keeps "
        "its track, not a position drifting on an old velocity).",
        low=0.0,
        high=600.0,
    )

    def __post_init__(self) -> None:
        check_settings(self, "tracker")
        if not self.low_score <= self.high_score <= self.new_track_score:
            raise ConfigError(
                "tracker scores need low_score <= high_score <= new_track_score, got "
                f"{self.low_score}, {self.high_score}, {self.new_track_score}"
            )


@dataclass(frozen=True)
class TrackResult:
    """One frame's tracking output.

    `detection_track_ids[i]` is the id of the confirmed track that input detection i updated,
    or "" (tentative, ignored or unmatched). The other fields describe the confirmed tracks
    (TRACKED and LOST), one row each; ground fields are NaN where a track never had a valid
    ground position.
    """

    stamp_ns: int
    detection_track_ids: list[str]
    track_ids: list[str]
    states: np.ndarray  # [M] TrackState values
    boxes: np.ndarray  # [M, 4] filtered (x1, y1, x2, y2), pixels
    class_ids: np.ndarray  # [M]
    scores: np.ndarray  # [M] score of the track's latest detection
    detection_index: np.ndarray  # [M] input row matched this frame, -1 when coasting
    ground_valid: np.ndarray  # [M] bool
    ground_xy: np.ndarray  # [M, 2] m, vehicle frame
    ground_velocity: np.ndarray  # [M, 2] m/s, relative to the vehicle
    ground_cov: np.ndarray  # [M, 4, 4] over (x, y, vx, vy), with the persistent error
    age_s: np.ndarray  # [M] since the track's first detection
    hits: np.ndarray  # [M] detections so far
    time_since_update_s: np.ndarray  # [M] 0 when matched this frame


@dataclass(frozen=True)
class _Frame:
    """Validated detections of one frame."""

    boxes: np.ndarray  # (x1, y1, x2, y2)
    centred: np.ndarray  # the same boxes as (cx, cy, w, h), the box filter's measurements
    scores: np.ndarray
    class_ids: np.ndarray
    ground_xy: np.ndarray
    ground_cov: np.ndarray
    ground_bias_cov: np.ndarray
    ground_valid: np.ndarray


def _frame_from_inputs(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    ground_xy: np.ndarray | None,
    ground_cov: np.ndarray | None,
    ground_bias_cov: np.ndarray | None,
    ground_valid: np.ndarray | None,
) -> _Frame:
    """Check shapes and values, raising InputError naming the first problem."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise InputError(f"tracker boxes must be [N, 4] (x1, y1, x2, y2), got {boxes.shape}")
    count = len(boxes)
    scores = np.asarray(scores, dtype=np.float64)
    class_ids = np.asarray(class_ids)
    if scores.shape != (count,) or class_ids.shape != (count,):
        raise InputError(
            f"tracker scores and class_ids must be [{count}] like the boxes, "
            f"got {scores.shape} and {class_ids.shape}"
        )
    if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
        raise InputError("tracker boxes and scores must be finite")
    if (boxes[:, 2:] < boxes[:, :2]).any():
        raise InputError("tracker boxes need x2 >= x1 and y2 >= y1")
    if count and (class_ids.dtype.kind not in "iu" or class_ids.min() < 0):
        raise InputError(f"tracker class_ids must be non-negative integers, got {class_ids.dtype}")
    xy, cov, valid = _ground_measurements(count, ground_xy, ground_cov, ground_valid)
    bias = _ground_bias(count, ground_xy, ground_bias_cov, valid)
    centred = box_geometry(boxes)
    return _Frame(boxes, centred, scores, class_ids.astype(np.intp), xy, cov, bias, valid)


def _ground_measurements(
    count: int,
    ground_xy: np.ndarray | None,
    ground_cov: np.ndarray | None,
    ground_valid: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ground positions [N, 2], covariances [N, 2, 2] and validity [N]; invalid rows
    are replaced by harmless finite values, so no NaN given there can reach a filter."""
    if ground_xy is None:
        if ground_cov is not None or ground_valid is not None:
            raise InputError("tracker ground_cov / ground_valid given without ground_xy")
        return np.zeros((count, 2)), np.tile(np.eye(2), (count, 1, 1)), np.zeros(count, bool)
    if ground_cov is None:
        raise InputError("tracker ground_xy needs ground_cov [N, 2, 2] (measurement covariance)")
    xy = np.asarray(ground_xy, dtype=np.float64)
    cov = np.asarray(ground_cov, dtype=np.float64)
    if xy.shape != (count, 2) or cov.shape != (count, 2, 2):
        raise InputError(
            f"tracker ground_xy / ground_cov must be [{count}, 2] / [{count}, 2, 2], "
            f"got {xy.shape} / {cov.shape}"
        )
    valid = np.ones(count, dtype=bool) if ground_valid is None else np.asarray(ground_valid)
    if valid.shape != (count,) or valid.dtype != bool:
        raise InputError(f"tracker ground_valid must be a bool array [{count}], got {valid.shape}")
    if not valid.all():
        xy = np.where(valid[:, None], xy, 0.0)
        cov = np.where(valid[:, None, None], cov, np.eye(2))
    if not (np.isfinite(xy).all() and np.isfinite(cov).all()):
        raise InputError("tracker ground_xy / ground_cov must be finite where ground_valid")
    a, b, c, d = cov.reshape(count, 4).T
    symmetric = np.abs(b - c) <= 1e-6 * (a + d)  # up to rounding; the filters symmetrise
    if not ((a > 0) & (a * d > b * c) & symmetric).all():
        raise InputError("tracker ground_cov must be symmetric positive definite where valid")
    return xy, cov, valid


def _ground_bias(
    count: int, ground_xy: np.ndarray | None, bias_cov: np.ndarray | None, valid: np.ndarray
) -> np.ndarray:
    """Checked persistent-error covariances [N, 2, 2] (zero where none is given or invalid)."""
    if bias_cov is None:
        return np.zeros((count, 2, 2))
    if ground_xy is None:
        raise InputError("tracker ground_bias_cov given without ground_xy")
    bias = np.asarray(bias_cov, dtype=np.float64)
    if bias.shape != (count, 2, 2):
        raise InputError(f"tracker ground_bias_cov must be [{count}, 2, 2], got {bias.shape}")
    bias = np.where(valid[:, None, None], bias, 0.0)
    a, b, c, d = bias.reshape(count, 4).T
    if not np.isfinite(bias).all():
        raise InputError("tracker ground_bias_cov must be finite where ground_valid")
    if not ((a >= 0) & (a * d >= b * c - 1e-9 * (a + d) ** 2) & np.isclose(b, c)).all():
        raise InputError("tracker ground_bias_cov must be symmetric positive semi-definite")
    return bias


def _indices(mask: np.ndarray) -> np.ndarray:
    """Indices where a 1-D mask is true (np.flatnonzero without its Python wrapper cost)."""
    return mask.nonzero()[0]


class Tracker:
    """Tracks detections over the frames of one camera; see the module docstring."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self._tracks = TrackTable.empty()
        self._last_stamp_ns: int | None = None
        self._last_number = 0
        self.configure(settings or TrackerSettings())

    def configure(self, settings: TrackerSettings) -> None:
        """Track with `settings` from the next frame on; the tracks and their ids stay (the
        filters hold no state of their own, only their noise parameters)."""
        self._box_filter = BoxFilter(
            settings.box_position_accel,
            settings.box_size_accel,
            settings.box_measurement_std,
            settings.box_initial_velocity_std,
        )
        self._ground_filter = GroundFilter(
            settings.ground_accel_std, settings.ground_initial_velocity_std
        )
        self._max_age_ns = round(settings.max_age_s * NS_PER_S)
        self.settings = settings

    def reset(self) -> None:
        """Forget all tracks and the last stamp (after a time jump); ids stay unique."""
        self._tracks = TrackTable.empty()
        self._last_stamp_ns = None

    def update(
        self,
        stamp_ns: int,
        boxes: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        ground_xy: np.ndarray | None = None,
        ground_cov: np.ndarray | None = None,
        ground_valid: np.ndarray | None = None,
        ground_bias_cov: np.ndarray | None = None,
    ) -> TrackResult:
        """Advance to `stamp_ns`, associate this frame's detections and report the tracks.

        boxes [N, 4] in pixels (x1, y1, x2, y2), scores [N], class_ids [N]; optionally ground
        positions [N, 2] (vehicle frame, m) with the covariances [N, 2, 2] of their errors that
        are fresh in every frame, a validity mask [N] (all valid when omitted) and the
        covariances [N, 2, 2] of their errors that persist over frames (none when omitted).
        Detections without a valid ground position are still tracked.
        """
        frame = _frame_from_inputs(
            boxes, scores, class_ids, ground_xy, ground_cov, ground_bias_cov, ground_valid
        )
        dt = self._advance_clock(stamp_ns)
        tracks = self._tracks
        self._box_filter.predict(tracks.box_mean, tracks.box_cov, dt)
        self._ground_filter.predict(tracks.ground_mean, tracks.ground_cov, dt)
        self._forget_stale_ground(tracks)
        alive = self._last_stamp_ns - tracks.updated_ns <= self._max_age_ns
        if not alive.all():
            tracks = tracks.subset(alive)
        rows, dets, unmatched_high = self._associate(tracks, frame)
        self._apply_measurements(tracks, rows, dets, frame)
        matched = np.zeros(len(tracks), dtype=bool)
        matched[rows] = True
        survivors = matched | (tracks.state != TENTATIVE)
        tracks.state[~matched & survivors] = LOST
        detection_index = np.full(len(tracks), -1)
        detection_index[rows] = dets
        if not survivors.all():
            tracks, detection_index = tracks.subset(survivors), detection_index[survivors]
        starters = unmatched_high[frame.scores[unmatched_high] >= self.settings.new_track_score]
        if len(starters):
            tracks = tracks.extended(self._new_tracks(frame, starters))
            detection_index = np.concatenate([detection_index, starters])
        self._confirm(tracks)
        self._tracks = tracks
        return self._result(tracks, detection_index, len(frame.boxes))

    def _advance_clock(self, stamp_ns: int) -> float:
        """Seconds since the previous frame (0 for the first); rejects non-increasing stamps."""
        if isinstance(stamp_ns, bool) or not isinstance(stamp_ns, int | np.integer):
            raise InputError(f"tracker stamp_ns must be integer nanoseconds, got {stamp_ns!r}")
        stamp_ns = int(stamp_ns)
        last = self._last_stamp_ns
        if last is not None and stamp_ns <= last:
            raise InputError(
                f"tracker frame stamp {stamp_ns} ns is not after the previous one ({last} ns); "
                "feed frames in capture order, or call reset() after a time jump"
            )
        self._last_stamp_ns = stamp_ns
        return 0.0 if last is None else (stamp_ns - last) / NS_PER_S

    def _forget_stale_ground(self, tracks: TrackTable) -> None:
        """Mark ground states unknown, in place, once they have only been predicted for longer
        than ground_max_coast_s; the next ground measurement starts them afresh."""
        coasting_ns = self._last_stamp_ns - tracks.ground_updated_ns
        stale = coasting_ns > self.settings.ground_max_coast_s * NS_PER_S
        tracks.ground_known[stale] = 0

    def _associate(
        self, tracks: TrackTable, frame: _Frame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Matched (track rows, detection rows) over the three stages, and the high-score
        detections left unmatched."""
        s = self.settings
        iou = box_iou(BoxFilter.boxes(tracks.box_mean), frame.boxes)
        if s.class_aware:
            iou[tracks.class_votes.argmax(axis=1)[:, None] != frame.class_ids[None, :]] = 0.0
        high = _indices(frame.scores >= s.high_score)
        low = _indices((frame.scores >= s.low_score) & (frame.scores < s.high_score))
        state = tracks.state
        taken = np.zeros(len(frame.boxes), dtype=bool)
        first = match_by_iou(iou, _indices(state != TENTATIVE), high, s.min_iou)
        taken[first[1]] = True
        tentative = _indices(state == TENTATIVE)
        second = match_by_iou(iou, tentative, high[~taken[high]], s.min_iou)
        taken[second[1]] = True
        recent = state == TRACKED
        recent[first[0]] = False
        third = match_by_iou(iou, _indices(recent), low, s.min_iou_low)
        rows = np.concatenate([first[0], second[0], third[0]])
        dets = np.concatenate([first[1], second[1], third[1]])
        return rows, dets, high[~taken[high]]

    def _apply_measurements(
        self, tracks: TrackTable, rows: np.ndarray, dets: np.ndarray, frame: _Frame
    ) -> None:
        """Filter updates, class votes and counters of the matched tracks, in place."""
        self._box_filter.update(tracks.box_mean, tracks.box_cov, rows, frame.centred[dets])
        with_ground = frame.ground_valid[dets]
        rows_g, dets_g = rows[with_ground], dets[with_ground]
        tracks.ground_bias_cov[rows_g] = frame.ground_bias_cov[dets_g]
        tracks.ground_updated_ns[rows_g] = self._last_stamp_ns
        known = tracks.ground_known[rows_g] == 1
        self._ground_filter.update(
            tracks.ground_mean,
            tracks.ground_cov,
            rows_g[known],
            frame.ground_xy[dets_g[known]],
            frame.ground_cov[dets_g[known]],
        )
        if not known.all():
            fresh_rows, fresh_dets = rows_g[~known], dets_g[~known]
            mean, cov = self._ground_filter.initiate(
                frame.ground_xy[fresh_dets], frame.ground_cov[fresh_dets]
            )
            tracks.ground_mean[fresh_rows], tracks.ground_cov[fresh_rows] = mean, cov
            tracks.ground_known[fresh_rows] = 1
        tracks.widen_votes(int(frame.class_ids[dets].max(initial=-1)) + 1)
        tracks.class_votes[rows, frame.class_ids[dets]] += frame.scores[dets]
        tracks.hits[rows] += 1
        tracks.updated_ns[rows] = self._last_stamp_ns
        tracks.score[rows] = frame.scores[dets]
        tracks.state[rows[tracks.state[rows] != TENTATIVE]] = TRACKED

    def _new_tracks(self, frame: _Frame, dets: np.ndarray) -> TrackTable:
        """Tentative tracks started from detections `dets`."""
        box_mean, box_cov = self._box_filter.initiate(frame.centred[dets])
        ground_mean, ground_cov = self._ground_filter.initiate(
            frame.ground_xy[dets], frame.ground_cov[dets]
        )
        votes = np.zeros((len(dets), int(frame.class_ids.max(initial=0)) + 1))
        votes[np.arange(len(dets)), frame.class_ids[dets]] = frame.scores[dets]
        return TrackTable.new(
            box_mean,
            box_cov,
            ground_mean,
            ground_cov,
            frame.ground_bias_cov[dets],
            frame.ground_valid[dets],
            TENTATIVE,
            self._last_stamp_ns,
            frame.scores[dets],
            votes,
        )

    def _confirm(self, tracks: TrackTable) -> None:
        """Promote tentative tracks with enough hits and give them the next ids, in place."""
        promoted = _indices((tracks.state == TENTATIVE) & (tracks.hits >= self.settings.min_hits))
        tracks.state[promoted] = TRACKED
        tracks.number[promoted] = self._last_number + 1 + np.arange(len(promoted))
        self._last_number += len(promoted)

    def _result(
        self, tracks: TrackTable, detection_index: np.ndarray, detection_count: int
    ) -> TrackResult:
        """The confirmed tracks, and the id each input detection contributed to."""
        confirmed = tracks.state != TENTATIVE
        shown = tracks.subset(confirmed)
        shown_dets = detection_index[confirmed]
        ids = [str(n) for n in shown.number.tolist()]
        detection_ids = [""] * detection_count
        for det, track_id in zip(shown_dets.tolist(), ids):
            if det >= 0:
                detection_ids[det] = track_id
        known = shown.ground_known == 1
        ground_mean, ground_cov = shown.ground_mean, shown.ground_cov.copy()
        ground_cov[:, :2, :2] += shown.ground_bias_cov
        if not known.all():
            ground_mean = np.where(known[:, None], ground_mean, np.nan)
            ground_cov = np.where(known[:, None, None], ground_cov, np.nan)
        stamp = self._last_stamp_ns
        return TrackResult(
            stamp_ns=stamp,
            detection_track_ids=detection_ids,
            track_ids=ids,
            states=shown.state,
            boxes=BoxFilter.boxes(shown.box_mean),
            class_ids=shown.class_votes.argmax(axis=1),
            scores=shown.score,
            detection_index=shown_dets,
            ground_valid=known,
            ground_xy=ground_mean[:, :2],
            ground_velocity=ground_mean[:, 2:],
            ground_cov=ground_cov,
            age_s=(stamp - shown.born_ns) / NS_PER_S,
            hits=shown.hits,
            time_since_update_s=(stamp - shown.updated_ns) / NS_PER_S,
        )
