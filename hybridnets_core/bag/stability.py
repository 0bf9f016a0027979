"""How steady a replay's outputs are from frame to frame, without labels: track fragmentation,
detection flicker, drivable-mask flicker and ego-lane jitter.

A model that sees the scene well keeps one track per vehicle, keeps seeing it every frame, and
places the road and the ego lane where they were a moment ago (less the vehicle's own motion);
a worse one breaks tracks, loses objects for a frame and makes masks and lanes jump. These
scores follow from the outputs alone, so they apply to any bag.

- Tracks: each confirmed track id seen on a detection. Track-seconds: every (track, frame) seen,
  times the frame interval (the median gap between stamps). `tracks_per_track_second`: tracks
  / track-seconds (one steady track per vehicle keeps it low: 1 / mean visible time);
  `short_track_share`: tracks whose life (first to last frame seen, plus one interval) is under
  SHORT_TRACK_S.
- Flicker: a track seen in frames k-1 and k+1 but not k (it vanished for exactly one frame);
  `flicker_per_track_second`: such gaps / track-seconds.
- Mask IoU of consecutive frames' drivable area. With the ego pose (TF or odometry), on the
  ground grid: the previous grid is moved into the current one by the ego motion between the
  stamps and the drivable cells' IoU is taken over the cells both see (`mode` "ground grid,
  ego motion compensated"); else the consecutive drivable masks of the image (`mode` "raw
  image masks": the vehicle's motion counts as flicker too).
- Ego-lane jitter: |change| of the ego lane centre's lateral offset at JITTER_AT_M ahead between
  consecutive frames that both reach it (the previous centre line moved by the ego motion first
  when the pose is known).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..scene.ego_motion import EgoPose
from ..scene.ground import DRIVABLE, UNSEEN, GridSpec
from ..scene.lanes import LaneEstimate
from ..serving.session import SessionFrame

SHORT_TRACK_S = 1.0  # a track living less than this is short
JITTER_AT_M = 10.0  # the ego lane's lateral offset is read this far ahead
MODE_GROUND = "ground grid, ego motion compensated"
MODE_RAW = "raw image masks"


def _rounded(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def _spread(values: list[float], low: bool = False) -> dict[str, Any]:
    """Median and the 95th (or, for `low`, the 5th) percentile of `values`, and their count."""
    array = np.asarray(values, np.float64)
    key, q = ("p05", 5) if low else ("p95", 95)
    if not array.size:
        return {"median": None, key: None, "count": 0}
    return {
        "median": _rounded(np.median(array)),
        key: _rounded(np.percentile(array, q)),
        "count": int(array.size),
    }


def move_grid(occupancy: np.ndarray, grid: GridSpec, before: EgoPose, after: EgoPose) -> np.ndarray:
    """An occupancy grid placed at `before` as seen from `after` (same GridSpec): each cell of
    the result takes the old cell under its centre; UNSEEN where the old grid did not reach."""
    x, y = grid.cell_centres()
    old_x, old_y = before.to_grid(*after.to_odom(x, y))
    column = np.floor((old_x - grid.x_min) / grid.resolution).astype(np.int64)
    row = np.floor((old_y - grid.y_min) / grid.resolution).astype(np.int64)
    inside = (column >= 0) & (column < occupancy.shape[1]) & (row >= 0)
    inside &= row < occupancy.shape[0]
    moved = np.full(occupancy.shape, UNSEEN, occupancy.dtype)
    moved[inside] = occupancy[row[inside], column[inside]]
    return moved


def grid_iou(previous: np.ndarray, current: np.ndarray) -> float | None:
    """Drivable cells' IoU over the cells both grids see; None when neither has any there."""
    seen = (previous != UNSEEN) & (current != UNSEEN)
    a, b = seen & (previous == DRIVABLE), seen & (current == DRIVABLE)
    union = int((a | b).sum())
    return int((a & b).sum()) / union if union else None


def mask_iou(previous: np.ndarray, current: np.ndarray) -> float | None:
    """IoU of two bool masks of one size; None when both are empty."""
    union = int((previous | current).sum())
    return int((previous & current).sum()) / union if union else None


def lateral_offset(center: np.ndarray | None, at_m: float = JITTER_AT_M) -> float | None:
    """y of a centre polyline [M, 2+] at x = `at_m`, None where it does not reach that far."""
    if center is None or len(center) < 2:
        return None
    x, y = center[:, 0], center[:, 1]
    order = np.argsort(x)
    x, y = x[order], y[order]
    if not x[0] <= at_m <= x[-1]:
        return None
    return float(np.interp(at_m, x, y))


class StabilityMetrics:
    """The `stability` section of one replay: fed every frame in order with its ego pose (None:
    unknown, the raw-mask fallback is used for that frame pair)."""

    def __init__(self) -> None:
        self.stamps: list[int] = []
        self.seen: dict[str, list[int]] = {}  # track id -> frame numbers it was seen in
        self.mask_ious: list[float] = []
        self.modes: set[str] = set()
        self.jitter: list[float] = []
        self._previous: SessionFrame | None = None
        self._previous_pose: EgoPose | None = None

    def update(self, made: SessionFrame, pose: EgoPose | None) -> None:
        """Add the next frame: its tracked detections, masks or ground grid, and ego lane."""
        self.add_tracks(made.stamp, made.scene.track_ids(len(made.result)))
        previous, before = self._previous, self._previous_pose
        if previous is not None:
            moved = pose is not None and before is not None
            self._add_masks(previous, made, before if moved else None, pose)
            self._add_jitter(previous.lanes, made.lanes, before if moved else None, pose)
        self._previous, self._previous_pose = made, pose

    def add_tracks(self, stamp: int, track_ids: list[str]) -> None:
        """Count the next frame (stamp in ns) and the track ids of its detections ("": a
        detection without a confirmed track)."""
        number = len(self.stamps)
        self.stamps.append(stamp)
        for ident in set(track_ids) - {""}:
            self.seen.setdefault(ident, []).append(number)

    def _add_masks(
        self,
        previous: SessionFrame,
        current: SessionFrame,
        before: EgoPose | None,
        after: EgoPose | None,
    ) -> None:
        grids = previous.occupancy is not None and current.occupancy is not None
        if before is not None and after is not None and grids and previous.grid == current.grid:
            moved = move_grid(previous.occupancy, current.grid, before, after)
            iou, mode = grid_iou(moved, current.occupancy), MODE_GROUND
        else:
            old, new = previous.result.drivable, current.result.drivable
            if old is None or new is None or old.shape != new.shape:
                return
            iou, mode = mask_iou(old, new), MODE_RAW
        if iou is not None:
            self.mask_ious.append(iou)
            self.modes.add(mode)

    def _add_jitter(
        self,
        previous: LaneEstimate | None,
        current: LaneEstimate | None,
        before: EgoPose | None,
        after: EgoPose | None,
    ) -> None:
        if previous is None or current is None or previous.ego.center is None:
            return
        old = np.asarray(previous.ego.center, np.float64)[:, :2]
        if before is not None and after is not None:
            old = np.column_stack(after.to_grid(*before.to_odom(old[:, 0], old[:, 1])))
        a, b = lateral_offset(old), lateral_offset(current.ego.center)
        if a is not None and b is not None:
            self.jitter.append(abs(b - a))

    def frame_interval_s(self) -> float | None:
        """The median gap between consecutive stamps (s); None with fewer than two frames."""
        gaps = np.diff(np.asarray(self.stamps, np.int64))
        gaps = gaps[gaps > 0]
        return float(np.median(gaps)) / 1e9 if gaps.size else None

    def summary(self) -> dict[str, Any]:
        """The report's stability section (definitions in this module's docstring)."""
        interval = self.frame_interval_s()
        lives = [frames[-1] - frames[0] + 1 for frames in self.seen.values()]
        gaps = sum(int((np.diff(frames) == 2).sum()) for frames in self.seen.values())
        track_frames = sum(len(frames) for frames in self.seen.values())
        track_s = track_frames * interval if interval else 0.0
        short = sum(life * interval < SHORT_TRACK_S for life in lives) if interval else 0
        return {
            "frames": len(self.stamps),
            "frame_interval_s": _rounded(interval),
            "tracks": {
                "count": len(self.seen),
                "track_seconds": _rounded(track_s),
                "tracks_per_track_second": _rounded(len(self.seen) / track_s) if track_s else None,
                "short_track_share": _rounded(short / len(lives)) if lives else None,
                "short_track_s": SHORT_TRACK_S,
            },
            "flicker": {
                "one_frame_gaps": gaps,
                "flicker_per_track_second": _rounded(gaps / track_s) if track_s else None,
            },
            "mask_iou": {
                **_spread(self.mask_ious, low=True),
                "mode": " + ".join(sorted(self.modes)) if self.modes else None,
            },
            "ego_lane_jitter_m": {**_spread(self.jitter), "at_m": JITTER_AT_M},
        }
