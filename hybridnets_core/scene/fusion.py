"""One object list across cameras: every camera's confirmed tracks fused into objects in the
vehicle frame, one id per physical object, kept as it moves from one camera's view to another's.

Each camera keeps its own tracker (image-box association is what holds a track together from
frame to frame); fusion works on their output, track to track:
- An observation is one camera track matched to a detection this frame, placed at the
  object's centre (GroundObjects.centre: half the object's length behind the face the camera
  sees, so the front and the side camera of one car give the same point), with its ground
  covariance plus `position_noise_m` for what the cameras disagree on (calibration, size
  priors).
- Fused objects carry a constant-velocity filter on (x, y, vx, vy) (tracking/motion.py's
  GroundFilter). Each batch, every fused object is predicted to the newest stamp; then camera
  by camera: an observation of a camera track already linked to a fused object updates it
  again while it stays within `link_gate` (so a track keeps its fused id through noise); the
  others are assigned optimally to fused objects by squared Mahalanobis distance under `gate`,
  never two observations of one camera to one object nor an object to a camera whose own
  track of it is already linked elsewhere; what is left starts a new fused object.
- A fused object no camera has observed for `max_age_s` is dropped. Ids are positive integers
  as strings from a counter that lives as long as the fusion, never reused.

Positions are in the vehicle frame (grid_frame), which moves with the vehicle: velocities are
relative to the vehicle, as each camera's tracks are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import InputError
from ..settings import check_settings, setting
from .objects import GroundObjects
from .tracking import TrackResult
from .tracking.motion import GroundFilter

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class FusionSettings:
    """When camera tracks are one object, and how long a fused object outlives its views."""

    gate: float = setting(
        13.8,
        "Largest squared Mahalanobis distance (2 degrees of freedom; 13.8: 99.9 %) at which an "
        "observation joins a fused object.",
        low=0.1,
        high=1000.0,
    )
    link_gate: float = setting(
        50.0,
        "Largest squared Mahalanobis distance at which a camera track stays with the fused "
        "object it joined.",
        low=0.1,
        high=10000.0,
    )
    position_noise_m: float = setting(
        0.5,
        "Standard deviation (m) added to each camera's object centre: calibration and size "
        "priors the cameras do not share.",
        low=0.0,
        high=10.0,
    )
    accel_std: float = setting(
        3.0, "Acceleration noise (m/s^2) of a fused object's motion.", low=0.01, high=100.0
    )
    initial_velocity_std: float = setting(
        10.0, "Velocity uncertainty (m/s) of a new fused object.", low=0.01, high=100.0
    )
    max_age_s: float = setting(
        1.0, "A fused object no camera observed for this long (s) is dropped.", low=0.0, high=60.0
    )

    def __post_init__(self) -> None:
        check_settings(self, "fusion")


@dataclass(frozen=True)
class CameraObservations:
    """One camera's confirmed tracks matched to a detection this frame, at their centres in
    the vehicle frame: ids, class ids, scores [K], centre [K, 2] (m), covariance [K, 2, 2]
    (m^2), the tracks' velocity [K, 2] (m/s; zero where not yet known) and size [K, 3]
    (extent along grid x, along grid y, height; m: objects stand along grid x)."""

    camera: str
    stamp_ns: int
    track_ids: list[str]
    class_ids: np.ndarray
    scores: np.ndarray
    centre: np.ndarray
    covariance: np.ndarray
    velocity: np.ndarray
    size: np.ndarray

    def __len__(self) -> int:
        return len(self.track_ids)

    def centre_at(self, stamp_ns: int) -> np.ndarray:
        """The centres moved on to `stamp_ns` with their tracks' velocities: the cameras of a
        batch are stamped up to the batch timeout apart."""
        return self.centre + self.velocity * ((stamp_ns - self.stamp_ns) / NS_PER_S)

    @classmethod
    def of(cls, camera: str, tracks: TrackResult, objects: GroundObjects) -> CameraObservations:
        """The observations of one camera's frame: its tracks matched this frame whose
        detection was located on the ground (objects holds the frame's detections)."""
        rows = np.flatnonzero(tracks.detection_index >= 0)
        detections = tracks.detection_index[rows]
        located = objects.valid[detections]
        rows, detections = rows[located], detections[located]
        return cls(
            camera=camera,
            stamp_ns=tracks.stamp_ns,
            track_ids=[tracks.track_ids[row] for row in rows],
            class_ids=tracks.class_ids[rows].astype(np.int64),
            scores=tracks.scores[rows].astype(np.float64),
            centre=objects.centre[detections].astype(np.float64),
            covariance=objects.covariance[detections].astype(np.float64),
            velocity=np.nan_to_num(tracks.ground_velocity[rows].astype(np.float64)),
            size=objects.extents[detections],
        )


@dataclass(frozen=True)
class FusedObjects:
    """The fused objects after one batch, one row each: ids, class ids, scores [M], position
    [M, 2] and velocity [M, 2] in the vehicle frame, covariance [M, 4, 4] over (x, y, vx, vy),
    size [M, 3] (extent along x, along y, height), the cameras that observed each this batch,
    seconds since any camera did, and each camera track's fused id ((camera, track id) ->
    fused id), so per-camera outputs can name the fused object."""

    stamp_ns: int
    ids: list[str]
    class_ids: np.ndarray
    scores: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    covariance: np.ndarray
    size: np.ndarray
    cameras: list[tuple[str, ...]]
    time_since_update_s: np.ndarray
    links: dict[tuple[str, str], str]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class _Fused:
    """The fused objects' state, one row each (arrays grow and shrink together)."""

    ids: list[str] = field(default_factory=list)
    mean: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    cov: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 4)))
    class_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    size: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    last_seen_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the rows a bool mask selects."""
        self.ids = [self.ids[i] for i in np.flatnonzero(rows)]
        for name in ("mean", "cov", "class_ids", "scores", "size", "last_seen_ns"):
            setattr(self, name, getattr(self, name)[rows])


class CrossCameraFusion:
    """Fuses the camera tracks of each batch into one object list (see the module docstring)."""

    def __init__(self, settings: FusionSettings | None = None) -> None:
        self.configure(settings or FusionSettings())
        self._next_id = 1
        self._fused = _Fused()
        self._links: dict[tuple[str, str], str] = {}  # (camera, track id) -> fused id
        self._stamp_ns: int | None = None

    def configure(self, settings: FusionSettings) -> None:
        """Use these settings from the next batch on; fused objects and their ids stay."""
        self.settings = settings
        self._filter = GroundFilter(settings.accel_std, settings.initial_velocity_std)

    def reset(self) -> None:
        """Forget every fused object (ids keep counting)."""
        self._fused, self._links, self._stamp_ns = _Fused(), {}, None

    def update(self, batch: list[CameraObservations]) -> FusedObjects:
        """Fuse one batch (one entry per camera) at its newest stamp; InputError for a stamp
        older than the last batch's (call `reset` after a deliberate time jump)."""
        if not batch:
            raise InputError("fusion needs at least one camera's observations")
        stamp = max(item.stamp_ns for item in batch)
        if self._stamp_ns is not None and stamp < self._stamp_ns:
            raise InputError(
                f"batch stamp {stamp} ns is older than the last one ({self._stamp_ns} ns); "
                "reset the fusion after a time jump"
            )
        fused = self._fused
        dt = 0.0 if self._stamp_ns is None else (stamp - self._stamp_ns) / NS_PER_S
        self._filter.predict(fused.mean, fused.cov, dt)
        self._stamp_ns = stamp
        seen: dict[str, list[str]] = {}
        for observations in batch:
            for fused_id in self._fuse_camera(observations, stamp):
                seen.setdefault(fused_id, []).append(observations.camera)
        self._drop_stale(stamp)
        return self._result(stamp, seen)

    def _fuse_camera(self, obs: CameraObservations, stamp: int) -> list[str]:
        """Fuse one camera's observations; the fused ids they went to, in order."""
        if not len(obs):
            return []
        noise = self.settings.position_noise_m**2 * np.eye(2)
        centre, measured_cov = obs.centre_at(stamp), obs.covariance + noise
        distance = self._mahalanobis(centre, measured_cov)  # [K, M]
        rows_by_id = {fused_id: row for row, fused_id in enumerate(self._fused.ids)}
        target = np.full(len(obs), -1)
        # this camera's other tracks hold these fused objects: no second observation of them
        taken = np.zeros(len(self._fused.ids), dtype=bool)
        for k, track_id in enumerate(obs.track_ids):
            row = rows_by_id.get(self._links.get((obs.camera, track_id), ""), -1)
            if row >= 0 and not taken[row] and distance[k, row] <= self.settings.link_gate:
                target[k], taken[row] = row, True
        free_obs, free_rows = np.flatnonzero(target < 0), np.flatnonzero(~taken)
        if len(free_obs) and len(free_rows):
            block = distance[np.ix_(free_obs, free_rows)]
            gate = self.settings.gate
            pairs = linear_sum_assignment(np.where(block <= gate, block, gate * 1e6))
            for i, j in zip(*pairs):
                if block[i, j] <= gate:
                    target[free_obs[i]] = free_rows[j]
        matched = np.flatnonzero(target >= 0)
        self._filter.update(
            self._fused.mean,
            self._fused.cov,
            target[matched],
            centre[matched],
            measured_cov[matched],
        )
        self._refresh(target[matched], obs, matched, stamp)
        new = np.flatnonzero(target < 0)
        target[new] = self._start(obs, new, centre, measured_cov, stamp)
        ids = self._fused.ids
        for track_id, row in zip(obs.track_ids, target):
            self._links[(obs.camera, track_id)] = ids[row]
        return [ids[row] for row in target]

    def _mahalanobis(self, centre: np.ndarray, cov: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances [K, M] of observations to the predicted objects."""
        fused = self._fused
        if not len(fused.ids):
            return np.zeros((len(centre), 0))
        diff = centre[:, None, :] - fused.mean[None, :, :2]  # [K, M, 2]
        total = cov[:, None] + fused.cov[None, :, :2, :2]  # [K, M, 2, 2]
        solved = np.linalg.solve(total, diff[..., None])[..., 0]
        return np.einsum("kmi,kmi->km", diff, solved)

    def _refresh(
        self, rows: np.ndarray, obs: CameraObservations, picked: np.ndarray, stamp: int
    ) -> None:
        """Class, score, size and last-seen stamp of fused objects from their observations."""
        fused = self._fused
        better = obs.scores[picked] >= fused.scores[rows]
        fused.class_ids[rows[better]] = obs.class_ids[picked[better]]
        fused.scores[rows] = np.maximum(fused.scores[rows], obs.scores[picked])
        fused.size[rows[better]] = obs.size[picked[better]]
        fused.last_seen_ns[rows] = stamp

    def _start(
        self,
        obs: CameraObservations,
        new: np.ndarray,
        centre: np.ndarray,
        cov: np.ndarray,
        stamp: int,
    ) -> np.ndarray:
        """New fused objects from the observations `new` (at `centre`); their rows."""
        fused = self._fused
        rows = np.arange(len(fused.ids), len(fused.ids) + len(new))
        if not len(new):
            return rows
        mean, state_cov = self._filter.initiate(centre[new], cov[new])
        mean[:, 2:] = obs.velocity[new]  # the camera track's estimate, as good a start as any
        fused.ids += [str(self._next_id + i) for i in range(len(new))]
        self._next_id += len(new)
        fused.mean = np.concatenate([fused.mean, mean])
        fused.cov = np.concatenate([fused.cov, state_cov])
        fused.class_ids = np.concatenate([fused.class_ids, obs.class_ids[new]])
        fused.scores = np.concatenate([fused.scores, obs.scores[new]])
        fused.size = np.concatenate([fused.size, obs.size[new]])
        fused.last_seen_ns = np.concatenate(
            [fused.last_seen_ns, np.full(len(new), stamp, np.int64)]
        )
        return rows

    def _drop_stale(self, stamp: int) -> None:
        """Drop fused objects unseen for longer than max_age_s, and their links."""
        fused = self._fused
        fresh = (stamp - fused.last_seen_ns) <= self.settings.max_age_s * NS_PER_S
        if fresh.all():
            return
        fused.keep(fresh)
        alive = set(fused.ids)
        self._links = {key: value for key, value in self._links.items() if value in alive}

    def _result(self, stamp: int, seen: dict[str, list[str]]) -> FusedObjects:
        fused = self._fused
        return FusedObjects(
            stamp_ns=stamp,
            ids=list(fused.ids),
            class_ids=fused.class_ids.copy(),
            scores=fused.scores.copy(),
            position=fused.mean[:, :2].copy(),
            velocity=fused.mean[:, 2:].copy(),
            covariance=fused.cov.copy(),
            size=fused.size.copy(),
            cameras=[tuple(sorted(set(seen.get(i, ())))) for i in fused.ids],
            time_since_update_s=(stamp - fused.last_seen_ns) / NS_PER_S,
            links=dict(self._links),
        )
