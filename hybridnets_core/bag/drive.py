"""A synthetic drive coherent in time: traffic moves, dashes pass, the road bends and unbends.

One random scene is sampled per seed and then animated by editing its frozen parameters: the
ego car drives at a constant speed, each lane's traffic at its own speed, parked cars and
roadside props stay put, and the road curvature follows a slow sine. The camera is mounted
1.5 m high looking level (the node's default camera pose), so camera_info plus the default
pose give a correct ground grid. A scenario (scenarios.py) can script the traffic ahead.

Each frame also has its ground truth in grid_frame (the camera's ground point, x forward,
y left): every labelled vehicle with a persistent id (its index in the drive's traffic plus
one; vehicles that leave are never replaced, so ids are never reused), its velocity over ground
and relative to the ego car, its lane index, the lead vehicle, the lane lines with the ego lane,
and the ego pose in odom. See hybridnets_core.synth.truth and drive_motion for the definitions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..scene.ground import CameraIntrinsics
from ..scene.lead import time_to_collision
from ..scene.path import PathSettings
from ..synth import Scene, SceneParams, render_scene, sample_scene_params
from ..synth.camera import CameraParams, Mount
from ..synth.road import RoadParams
from ..synth.truth import LaneTruth, VehicleTruth, scene_truth
from ..synth.vehicles import VehicleParams
from .drive_motion import EgoState, RoadMotion, VehicleMotion
from .scenarios import apply_scenario, lane_of

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
class VehicleState:
    """Motion truth of one labelled vehicle in grid_frame: its velocity over ground and
    relative to the ego car (the rate of change of its position in grid_frame), m/s (x, y);
    its lane index (0 the ego lane, +1 the first lane to the left, -1 to the right, by its
    centre); whether it is in the path (path.in_path's rule against the true ego lane)."""

    velocity: tuple[float, float]
    relative_velocity: tuple[float, float]
    lane_index: int
    in_path: bool


@dataclass(frozen=True)
class LeadTruth:
    """The true lead: the nearest labelled vehicle ahead in the ego lane (lane index 0), its
    range (m, along x from grid_frame's origin to its contact point), range rate (m/s) and
    time to collision (s, +inf unless closing)."""

    id: int
    range_m: float
    range_rate_mps: float
    ttc_s: float


@dataclass(frozen=True)
class DriveTruth:
    """Ground truth of one drive frame in grid_frame: labelled vehicles (label order) with their
    motion (same order), lanes, the lead vehicle (None: none) and the ego pose in odom."""

    index: int
    time_s: float
    vehicles: tuple[VehicleTruth, ...]
    lanes: LaneTruth
    states: tuple[VehicleState, ...]
    lead: LeadTruth | None
    ego: EgoState


class SyntheticDrive:
    """Frames of one drive at a fixed rate; frame i depends only on (seed, scenario, i)."""

    def __init__(
        self, seed: int, size: tuple[int, int], fps: float, scenario: str = "drive"
    ) -> None:
        rng = np.random.default_rng([seed, 0])
        scene = sample_scene_params(rng)
        camera = replace(scene.camera, height_m=CAMERA_HEIGHT_M, hood_frac=0.0)
        start = replace(scene, camera=camera)
        motion = _sample_motion(rng, start)
        traffic = tuple(
            (v, VehicleMotion(_lane_speed(start.road, motion, v))) for v in start.vehicles
        )
        start, self.traffic = apply_scenario(
            scenario, np.random.default_rng([seed, 2]), start, traffic, motion.ego_speed
        )
        self.start = start
        self.motion = motion
        self.road_motion = RoadMotion(
            ego_speed=motion.ego_speed,
            curvature=start.road.curvature,
            curve_amplitude=CURVE_AMPLITUDE if scenario == "drive" else 0.0,
            curve_period_s=CURVE_PERIOD_S,
            curve_phase=motion.curve_phase,
            offset_m=start.road.ego_offset_m,
            sway_m=WEAVE_M,
            sway_period_s=WEAVE_PERIOD_S,
            yaw_rad=start.road.yaw_rad,
        )
        self.scenario = scenario
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

    def params(self, index: int) -> SceneParams:
        """The scene `index / fps` seconds into the drive."""
        return self._frame(index)[0]

    def _frame(self, index: int) -> tuple[SceneParams, tuple[int, ...]]:
        """The scene of frame `index` and the persistent id of each of its vehicles."""
        t = index / self.fps
        ego = self.motion.ego_speed
        start = self.start
        offset, _ = self.road_motion.offset_at(t)
        sway = offset - start.road.ego_offset_m  # vehicles keep to their lanes as the ego sways
        moved = []
        for i, (v, motion) in enumerate(self.traffic):
            shift, _ = motion.shift(t)
            distance = v.distance_m + motion.travelled(t) - ego * t
            moved.append(
                (i + 1, replace(v, distance_m=distance, lateral_m=v.lateral_m + shift - sway))
            )
        kept = [(i, v) for i, v in moved if MIN_DISTANCE_M <= v.distance_m <= MAX_DISTANCE_M]
        props = tuple(replace(p, distance_m=p.distance_m - ego * t) for p in start.scenery.props)
        shadows = tuple(
            replace(s, distance_m=s.distance_m - ego * t) for s in start.lighting.shadows
        )
        curvature, _ = self.road_motion.curvature_at(t)
        road = replace(
            start.road, dash_phase_m=start.road.dash_phase_m + ego * t, curvature=curvature,
            ego_offset_m=offset,
        )  # fmt: skip
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

    def render_with_truth(
        self,
        index: int,
        mount: Mount | None = None,
        stream: int = 0,
        camera: CameraParams | None = None,
    ) -> tuple[Scene, DriveTruth]:
        """Image, labels and ground truth of frame `index` from one render; `mount` renders
        it from a rig camera (the truth's vehicles are then those that camera labels), with the
        sensor noise of `stream` (0: the forward camera's) and its own `camera` intrinsics."""
        params, ids = self._frame(index)
        if camera is not None:
            params = replace(params, camera=camera)
        key = [self.seed, 1, index] if stream == 0 else [self.seed, 1, index, stream]
        scene = render_scene(np.random.default_rng(key), self.size, params, mount)
        vehicles, lanes = scene_truth(params, self.size, scene, ids)
        t = index / self.fps
        ego = self.road_motion.ego_state(t)
        states = tuple(
            self._state(t, ego, params.road, params.vehicles[source.vehicle], truth)
            for source, truth in zip(scene.sources, vehicles)
        )
        lead = _lead(vehicles, states)
        return scene, DriveTruth(index, t, vehicles, lanes, states, lead, ego)

    def truth(self, index: int) -> DriveTruth:
        """Ground truth of frame `index` (renders the frame to know which vehicles show)."""
        return self.render_with_truth(index)[1]

    def _state(
        self, t: float, ego: EgoState, road: RoadParams, vehicle: VehicleParams, truth: VehicleTruth
    ) -> VehicleState:
        """Velocities, lane index and in-path of one labelled vehicle at time t.

        Relative: the time derivative of its grid_frame position x = d + inset,
        y = -(lateral + yaw x + curvature x^2 / 2) as the renderer places it. Over ground: its
        speed along the road's heading at x plus its own lateral motion, in grid_frame axes.
        """
        motion = self.traffic[truth.id - 1][1]
        speed = motion.speed_at(t)
        _, shift_rate = motion.shift(t)
        _, sway_rate = self.road_motion.offset_at(t)
        curvature, curvature_rate = self.road_motion.curvature_at(t)
        yaw = road.yaw_rad
        x = truth.x_m
        x_rate = speed - self.motion.ego_speed
        lateral_rate = shift_rate - sway_rate
        y_rate = -(lateral_rate + (yaw + curvature * x) * x_rate + curvature_rate * x * x / 2)
        heading = -math.atan(yaw + curvature * x)
        cos, sin = math.cos(heading), math.sin(heading)
        ground = (speed * cos + shift_rate * sin, speed * sin - shift_rate * cos)
        lanes_from_left = math.floor((vehicle.lateral_m - road.line_y(0)) / road.lane_width_m)
        left, right = road.line_y(road.ego_lane), road.line_y(road.ego_lane + 1)
        half = vehicle.width_m / 2
        overlap = min(vehicle.lateral_m + half, right) - max(vehicle.lateral_m - half, left)
        needed = min(PathSettings().min_overlap_m, vehicle.width_m)
        return VehicleState(
            velocity=ground,
            relative_velocity=(x_rate, y_rate),
            lane_index=road.ego_lane - lanes_from_left,
            in_path=x > 0 and overlap >= needed,
        )


def merge_truths(truths: list[DriveTruth]) -> DriveTruth:
    """One frame's truth over several cameras' renders: every vehicle any camera labels, once
    (as the first camera that labels it has it), and the lead among them."""
    first = truths[0]
    vehicles: dict[int, tuple[VehicleTruth, VehicleState]] = {}
    for truth in truths:
        for vehicle, state in zip(truth.vehicles, truth.states):
            vehicles.setdefault(vehicle.id, (vehicle, state))
    merged = tuple(vehicles.values())
    kept = tuple(v for v, _ in merged)
    states = tuple(s for _, s in merged)
    return replace(first, vehicles=kept, states=states, lead=_lead(kept, states))


def _lane_speed(road: RoadParams, motion: DriveMotion, vehicle: VehicleParams) -> float:
    """Speed of a vehicle: its lane's, or 0 when parked beside the road."""
    lane = lane_of(road, vehicle.lateral_m)
    return 0.0 if lane is None else motion.lane_speeds[lane]


def _lead(vehicles: tuple[VehicleTruth, ...], states: tuple[VehicleState, ...]) -> LeadTruth | None:
    """The nearest labelled vehicle ahead in the ego lane, with range, range rate and TTC."""
    ahead = [
        (truth, state)
        for truth, state in zip(vehicles, states)
        if state.lane_index == 0 and truth.x_m > 0
    ]
    if not ahead:
        return None
    truth, state = min(ahead, key=lambda pair: pair[0].x_m)
    rate = state.relative_velocity[0]
    ttc = float(time_to_collision(truth.x_m, rate, 0.0))
    return LeadTruth(truth.id, truth.x_m, rate, ttc)
