"""A synthetic drive coherent in time: traffic moves, dashes pass, the road bends and unbends.

One random scene is sampled per seed and then animated by editing its frozen parameters: the
ego car drives at a constant speed, each lane's traffic at its own speed, parked cars and
roadside props stay put, and the road curvature follows a slow sine. The camera is mounted
1.5 m high looking level (the node's default camera pose), so camera_info plus the default
pose give a correct ground grid.

Each frame also has its ground truth in grid_frame (the camera's ground point, x forward,
y left): every labelled vehicle with a persistent id (its index in the drive's first scene
plus one; vehicles that leave are never replaced, so ids are never reused), and the lane
lines with the ego lane. See hybridnets_core.synth.truth for the definitions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..scene.ground import CameraIntrinsics
from ..synth import Scene, SceneParams, render_scene, sample_scene_params
from ..synth.truth import LaneTruth, VehicleTruth, scene_truth
from ..synth.vehicles import VehicleParams

CAMERA_HEIGHT_M = 1.5
MIN_DISTANCE_M = 2.0  # objects closer than this have passed the camera and are dropped
MAX_DISTANCE_M = 160.0
CURVE_PERIOD_S = 9.0
CURVE_AMPLITUDE = 1.0 / 700.0  # 1/m
WEAVE_PERIOD_S = 6.0
WEAVE_M = 0.2  # lateral sway of the ego car within its lane


@dataclass(frozen=True)
class DriveMotion:
    """Speeds (m/s, absolute, along the road) of the ego car and of each lane's traffic."""

    ego_speed: float
    lane_speeds: tuple[float, ...]  # negative: oncoming
    curve_phase: float


def _sample_motion(rng: np.random.Generator, scene: SceneParams) -> DriveMotion:
    """Ego speed 8-16 m/s; same-direction lanes near it, oncoming lanes at similar speeds."""
    ego = float(rng.uniform(8.0, 16.0))
    speeds = []
    for lane in range(scene.road.lane_count):
        if lane < scene.road.oncoming_lanes:
            speeds.append(-float(rng.uniform(0.7, 1.2)) * ego)
        elif lane == scene.road.ego_lane:
            speeds.append(ego + float(rng.uniform(0.0, 2.0)))  # the lead car pulls away
        else:
            speeds.append(ego + float(rng.normal(0.0, 2.0)))
    return DriveMotion(ego, tuple(speeds), float(rng.uniform(0.0, 2 * math.pi)))


@dataclass(frozen=True)
class DriveTruth:
    """Ground truth of one drive frame in grid_frame: labelled vehicles (label order) and lanes."""

    index: int
    time_s: float
    vehicles: tuple[VehicleTruth, ...]
    lanes: LaneTruth


class SyntheticDrive:
    """Frames of one drive at a fixed rate; frame i depends only on (seed, i)."""

    def __init__(self, seed: int, size: tuple[int, int], fps: float) -> None:
        rng = np.random.default_rng([seed, 0])
        scene = sample_scene_params(rng)
        camera = replace(scene.camera, height_m=CAMERA_HEIGHT_M, hood_frac=0.0)
        self.start = replace(scene, camera=camera)
        self.motion = _sample_motion(rng, self.start)
        self.seed = seed
        self.size = size
        self.fps = fps

    @property
    def intrinsics(self) -> CameraIntrinsics:
        """Pinhole calibration of the rendered images (level camera, no distortion)."""
        width, height = self.size
        focal = self.start.camera.focal_frac * width
        horizon = self.start.camera.horizon_frac * height
        return CameraIntrinsics(focal, focal, width / 2, horizon, width, height)

    def _lane_speed(self, vehicle: VehicleParams) -> float:
        """Speed of a vehicle: its lane's, or 0 when parked beside the road."""
        road = self.start.road
        if not road.edge_y(-1) <= vehicle.lateral_m <= road.edge_y(1):
            return 0.0
        lane = min(
            range(road.lane_count), key=lambda i: abs(road.lane_centre_y(i) - vehicle.lateral_m)
        )
        return self.motion.lane_speeds[lane]

    def params(self, index: int) -> SceneParams:
        """The scene `index / fps` seconds into the drive."""
        return self._frame(index)[0]

    def _frame(self, index: int) -> tuple[SceneParams, tuple[int, ...]]:
        """The scene of frame `index` and the persistent id of each of its vehicles."""
        t = index / self.fps
        ego = self.motion.ego_speed
        start = self.start
        moved = [
            (i + 1, replace(v, distance_m=v.distance_m + (self._lane_speed(v) - ego) * t))
            for i, v in enumerate(start.vehicles)
        ]
        kept = [(i, v) for i, v in moved if MIN_DISTANCE_M <= v.distance_m <= MAX_DISTANCE_M]
        props = tuple(replace(p, distance_m=p.distance_m - ego * t) for p in start.scenery.props)
        shadows = tuple(
            replace(s, distance_m=s.distance_m - ego * t) for s in start.lighting.shadows
        )
        angle = 2 * math.pi * t / CURVE_PERIOD_S + self.motion.curve_phase
        road = replace(
            start.road,
            dash_phase_m=start.road.dash_phase_m + ego * t,
            curvature=start.road.curvature + CURVE_AMPLITUDE * math.sin(angle),
            ego_offset_m=start.road.ego_offset_m
            + WEAVE_M * math.sin(2 * math.pi * t / WEAVE_PERIOD_S),
        )
        params = replace(
            start,
            road=road,
            vehicles=tuple(v for _, v in kept),
            scenery=replace(
                start.scenery, props=tuple(p for p in props if p.distance_m >= MIN_DISTANCE_M)
            ),
            lighting=replace(
                start.lighting,
                shadows=tuple(s for s in shadows if s.distance_m >= MIN_DISTANCE_M),
            ),
        )
        return params, tuple(i for i, _ in kept)

    def render(self, index: int) -> Scene:
        """Image and labels of frame `index`; sensor noise differs per frame."""
        return self.render_with_truth(index)[0]

    def render_with_truth(self, index: int) -> tuple[Scene, DriveTruth]:
        """Image, labels and ground truth of frame `index` from one render."""
        params, ids = self._frame(index)
        scene = render_scene(np.random.default_rng([self.seed, 1, index]), self.size, params)
        vehicles, lanes = scene_truth(params, self.size, scene, ids)
        return scene, DriveTruth(index, index / self.fps, vehicles, lanes)

    def truth(self, index: int) -> DriveTruth:
        """Ground truth of frame `index` (renders the frame to know which vehicles show)."""
        return self.render_with_truth(index)[1]
