"""Fusion across cameras: cuboids projected by OpenCV into a front and a front-left camera, placed
by locate_objects, tracked per camera by the real Tracker and fused into one object list."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from cuboids import CAM, DEG, GRID, NAMES, box_in_view

from hybridnets_core.errors import ConfigError, InputError
from hybridnets_core.scene.fusion import (
    CameraObservations,
    CrossCameraFusion,
    FusedObjects,
    FusionSettings,
)
from hybridnets_core.scene.ground import CameraPose
from hybridnets_core.scene.objects import locate_objects
from hybridnets_core.scene.tracking import Tracker

RIG = {
    "front": CameraPose(x=2.0, y=0.0, z=1.6),
    "front_left": CameraPose(x=1.8, y=0.8, z=1.6, yaw=40 * DEG),
}
# What the vehicle believes: each camera's calibration a few tenths of a degree off, so the two
# cameras place one car up to 2 m apart at 30 m, as real rigs do.
BELIEVED = {
    "front": replace(RIG["front"], pitch=0.3 * DEG),
    "front_left": replace(RIG["front_left"], yaw=40.6 * DEG, pitch=-0.3 * DEG),
}
STEP_NS = 100_000_000  # 10 Hz


class Rig:
    """Each camera's tracker, fed the boxes OpenCV projects of the cars it sees, placed with
    the believed calibration."""

    def __init__(self, fusion: CrossCameraFusion | None = None) -> None:
        self.trackers = {camera: Tracker() for camera in RIG}
        self.fusion = fusion or CrossCameraFusion()
        self.views: list[dict[str, set[str]]] = []  # per frame: camera -> cars it saw

    def frame(self, stamp: int, cars: dict[str, tuple[float, float]]) -> FusedObjects:
        """One batch: every camera's view of `cars` (name -> centre), tracked and fused."""
        batch, seen = [], {}
        for camera, pose in RIG.items():
            boxes = {car: box_in_view(pose, centre, "car") for car, centre in cars.items()}
            boxes = {car: box for car, box in boxes.items() if box is not None}
            seen[camera] = set(boxes)
            rows = np.array(list(boxes.values())).reshape(-1, 4)
            ids = np.zeros(len(rows), dtype=np.int64)
            objects = locate_objects(rows, ids, NAMES, CAM, BELIEVED[camera], GRID)
            tracks = self.trackers[camera].update(
                stamp,
                rows,
                np.full(len(rows), 0.9),
                ids,
                objects.position,
                objects.covariance,
                objects.valid,
            )
            batch.append(CameraObservations.of(camera, tracks, objects))
        self.views.append(seen)
        return self.fusion.update(batch)


def near(fused: FusedObjects, centre: tuple[float, float], radius: float = 2.0) -> list[str]:
    """Ids of the fused objects within `radius` m of `centre`."""
    distance = np.hypot(*(fused.position - np.asarray(centre)).T)
    return [fused.ids[i] for i in np.flatnonzero(distance <= radius)]


def test_a_car_in_two_views_is_one_object_at_its_centre() -> None:
    rig, centre = Rig(), (31.0, 10.0)
    for index in range(6):
        fused = rig.frame(index * STEP_NS, {"a": centre})
    assert rig.views[-1] == {"front": {"a"}, "front_left": {"a"}}  # the views overlap there
    assert len(fused) == 1
    assert fused.cameras == [("front", "front_left")]
    error = math.hypot(*(fused.position[0] - centre))
    assert error <= max(0.3, 0.03 * math.hypot(*centre))
    assert np.abs(fused.velocity[0]).max() < 0.5  # it stands still relative to the vehicle
    assert set(fused.links.values()) == {fused.ids[0]}
    assert {camera for camera, _ in fused.links} == set(RIG)


def pass_car(rig: Rig) -> tuple[set[str], int, float]:
    """A car two lanes to the left, passed at 6.5 m/s over 5 s: the fused ids that were near
    it, how many more than one were near it (summed over frames) and the last position error."""
    ids, duplicates = set(), 0
    for index in range(50):
        centre = (44.0 - 0.65 * index, 10.0)
        fused = rig.frame(index * STEP_NS, {"a": centre})
        found = near(fused, centre, radius=3.0)
        duplicates += max(len(found) - 1, 0)
        ids.update(found)
    return ids, duplicates, float(np.hypot(*(fused.position[0] - centre)))


def test_a_passed_car_keeps_one_id_from_the_front_view_into_the_side_view() -> None:
    """First only the front camera sees the car, then both, then only the front-left one; every
    frame it is one fused object, always the same. With gates too tight for the cameras'
    disagreement it would become two."""
    rig = Rig()
    ids, duplicates, error = pass_car(rig)
    phases = [frozenset(c for c, cars in seen.items() if "a" in cars) for seen in rig.views]
    assert phases[0] == {"front"} and phases[-1] == {"front_left"}
    assert frozenset(RIG) in phases  # some frames in both views
    assert (len(ids), duplicates) == (1, 0)
    assert error < 1.0  # the calibration's own error

    strict = FusionSettings(gate=0.1, link_gate=0.1, position_noise_m=0.0)
    ids, duplicates, _ = pass_car(Rig(CrossCameraFusion(strict)))
    assert len(ids) == 2 and duplicates > 0


def test_two_cars_side_by_side_stay_two_objects() -> None:
    rig = Rig()
    cars = {"ego_lane": (22.0, 0.0), "left_lane": (22.0, 3.5)}
    for index in range(6):
        fused = rig.frame(index * STEP_NS, cars)
    assert len(fused) == 2
    for centre in cars.values():
        assert len(near(fused, centre, radius=1.75)) == 1  # half a lane


def test_an_object_no_camera_sees_is_dropped_and_its_id_never_reused() -> None:
    rig = Rig(CrossCameraFusion(FusionSettings(max_age_s=0.5)))
    for index in range(5):
        first = rig.frame(index * STEP_NS, {"a": (20.0, 0.0)}).ids
    assert len(first) == 1
    for index in range(5, 10):  # 0.4 s unseen: still there, coasting
        fused = rig.frame(index * STEP_NS, {})
    assert fused.ids == first and fused.time_since_update_s[0] == pytest.approx(0.5)
    assert fused.cameras == [()]
    fused = rig.frame(11 * STEP_NS, {})
    assert len(fused) == 0 and not fused.links
    for index in range(12, 18):
        fused = rig.frame(index * STEP_NS, {"a": (20.0, 0.0)})
    assert len(fused) == 1 and fused.ids != first


def observations(
    camera: str, stamp: int, centre: tuple[float, float], velocity: tuple[float, float]
) -> CameraObservations:
    """One camera's observation of one car, 0.2 m standard deviation each way."""
    return CameraObservations(
        camera=camera,
        stamp_ns=stamp,
        track_ids=["1"],
        class_ids=np.zeros(1, np.int64),
        scores=np.full(1, 0.8),
        centre=np.array([centre], dtype=np.float64),
        covariance=np.array([np.eye(2) * 0.04]),
        velocity=np.array([velocity], dtype=np.float64),
        size=np.array([[4.5, 1.8, 1.5]]),
    )


def test_a_camera_stamped_earlier_in_the_batch_is_moved_on_with_its_velocity() -> None:
    """An oncoming car at -25 m/s seen by two cameras 80 ms apart lies 2 m further at the later
    stamp: moved on with its track's velocity, both are one object there."""
    settings = FusionSettings(position_noise_m=0.0)
    fusion = CrossCameraFusion(settings)
    early = observations("left", 0, (42.0, 3.0), (-25.0, 0.0))
    late = observations("front", 80_000_000, (40.0, 3.0), (-25.0, 0.0))
    fused = fusion.update([early, late])
    assert len(fused) == 1 and fused.position[0] == pytest.approx([40.0, 3.0], abs=1e-6)
    assert fused.cameras == [("front", "left")]
    # without the velocity the two lie 10 standard deviations apart: two objects
    still = [observations("left", 0, (42.0, 3.0), (0.0, 0.0)), late]
    assert len(CrossCameraFusion(settings).update(still)) == 2


def test_a_camera_never_puts_two_of_its_tracks_into_one_object() -> None:
    """Two tracks of one camera 0.3 m apart are two objects, however close."""
    fusion = CrossCameraFusion()
    pair = observations("front", 0, (20.0, 0.0), (0.0, 0.0))
    pair = CameraObservations(
        camera="front",
        stamp_ns=0,
        track_ids=["1", "2"],
        class_ids=np.zeros(2, np.int64),
        scores=np.full(2, 0.8),
        centre=np.array([[20.0, 0.0], [20.0, 0.3]]),
        covariance=np.repeat(pair.covariance, 2, axis=0),
        velocity=np.zeros((2, 2)),
        size=np.repeat(pair.size, 2, axis=0),
    )
    fused = fusion.update([pair])
    assert len(fused) == 2
    fused = fusion.update([observations("left", STEP_NS, (20.0, 0.15), (0.0, 0.0))])
    assert len(fused) == 2 and fused.cameras.count(("left",)) == 1


def test_bad_input_and_settings_are_refused_in_one_line() -> None:
    fusion = CrossCameraFusion()
    with pytest.raises(InputError, match="at least one camera"):
        fusion.update([])
    fusion.update([observations("front", 5 * STEP_NS, (20.0, 0.0), (0.0, 0.0))])
    with pytest.raises(InputError, match="older than the last"):
        fusion.update([observations("front", STEP_NS, (20.0, 0.0), (0.0, 0.0))])
    fusion.reset()
    assert len(fusion.update([observations("front", STEP_NS, (20.0, 0.0), (0.0, 0.0))])) == 1
    with pytest.raises(ConfigError, match="fusion gate must be within"):
        FusionSettings(gate=0.0)
    with pytest.raises(ConfigError, match="fusion max_age_s"):
        FusionSettings(max_age_s=-1.0)
