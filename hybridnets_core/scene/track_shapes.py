"""Each confirmed track as an object on the ground: its centre, size along grid_frame's axes and
how sure we are that it exists, remembered while the track coasts.

A track's ground position (tracking.TrackResult.ground_xy) is the filtered middle of the
object's face nearest the camera (objects.py). The centre is the object's middle:
- a track matched this frame to a detection located on the ground: that detection's centre
  (GroundObjects.centre), and its size;
- a coasting track (or one matched to a detection that was not located): its filtered position
  moved by the centre offset (centre - position) it had at its last located detection, with
  that detection's size; a track never located by a detection it matched while confirmed has
  offset 0 and its class's size priors.
Objects stand along grid_frame x (objects.py), so sizes are given as (length along x, width
along y, height): GroundObjects' length behind the near face runs along x for a camera looking
along x (front, rear) and along y for one looking across (left, right), which the offset's
direction tells.

Existence confidence: the score of the track's latest detection, decayed linearly with the
time since that detection to 0 at the tracker's max_age_s, when the track is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .objects import GroundObjects, ObjectSettings
from .tracking import TrackResult


@dataclass(frozen=True)
class TrackShapes:
    """The confirmed tracks with a ground position, one row each.

    rows [K]: their rows in the TrackResult; centre [K, 2] (m, grid_frame); size [K, 3]
    (length along x, width along y, height; m); existence [K] in [0, 1].
    """

    rows: np.ndarray
    centre: np.ndarray
    size: np.ndarray
    existence: np.ndarray


def existence_confidence(
    scores: np.ndarray, time_since_update_s: np.ndarray, max_age_s: float
) -> np.ndarray:
    """Latest detection score decayed linearly to 0 at max_age_s after that detection."""
    decay = np.clip(1.0 - np.asarray(time_since_update_s, np.float64) / max_age_s, 0.0, 1.0)
    return np.clip(np.asarray(scores, np.float64), 0.0, 1.0) * decay


class TrackShapeMemory:
    """Each track's centre offset and size at its last located detection, kept while the
    track lives (update every frame, so a coasting track finds what it last had)."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def update(
        self,
        tracks: TrackResult,
        objects: GroundObjects | None,
        class_names: Sequence[str],
        priors: ObjectSettings,
        max_age_s: float,
    ) -> TrackShapes:
        """This frame's centres, sizes and existence of the tracks with a ground position;
        forgets tracks that are gone."""
        matched = np.asarray(tracks.detection_index)
        located = np.zeros(len(matched), bool)
        if objects is not None:
            hit = matched >= 0
            located[hit] = objects.valid[matched[hit]]
        if located.any():
            extents = objects.extents
        for row in np.flatnonzero(located):
            detection = matched[row]
            offset = objects.centre[detection] - objects.position[detection]
            self._last[tracks.track_ids[row]] = (offset, extents[detection])
        alive = set(tracks.track_ids)
        self._last = {ident: last for ident, last in self._last.items() if ident in alive}

        xy = tracks.ground_xy.reshape(-1, 2)
        rows = np.flatnonzero(tracks.ground_valid & np.isfinite(xy).all(axis=1))
        sizes = priors.size_priors(list(class_names))  # (height, length, width) per class
        centre = np.empty((len(rows), 2))
        size = np.empty((len(rows), 3))
        for out, row in enumerate(rows):
            if located[row]:
                centre[out] = objects.centre[matched[row]]
                size[out] = self._last[tracks.track_ids[row]][1]
                continue
            height, length, width = sizes[tracks.class_ids[row]]
            offset, size[out] = self._last.get(
                tracks.track_ids[row], (np.zeros(2), np.array([length, width, height]))
            )
            centre[out] = xy[row] + offset
        existence = existence_confidence(
            tracks.scores[rows], tracks.time_since_update_s[rows], max_age_s
        )
        return TrackShapes(rows, centre, size, existence)
