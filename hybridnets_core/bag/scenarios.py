"""Scripted traffic for synthetic drives: a braking lead vehicle, and a cut-in from the next
lane. Both run on a straight road (no bend, camera aligned with it) with the ego lane cleared
of its sampled traffic, so what happens ahead is the scripted vehicle alone.

- braking-lead: a car LEAD_START_M ahead in the ego lane, at the ego speed, brakes (its speed
  swings LEAD_SWING_MPS below the ego's and back over drive_motion.SWING_PERIOD_S), so the
  range closes and the time to collision falls to a few seconds.
- cut-in: a car CUT_IN_START_M ahead in the lane beside the ego lane (same direction; one is
  added on the right when the road has none), a little faster than the ego car, changes into
  the ego lane from CUT_IN_AT_S over CUT_IN_S.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import ConfigError
from ..synth import SceneParams
from ..synth.road import Marking, RoadParams
from ..synth.vehicles import VehicleParams, random_vehicle
from .drive_motion import VehicleMotion

SCENARIOS = ("drive", "braking-lead", "cut-in")
LEAD_START_M = 30.0
LEAD_SWING_MPS = 6.0
CUT_IN_START_M = 12.0
CUT_IN_SPEEDUP_MPS = 1.0
CUT_IN_AT_S = 1.0
CUT_IN_S = 3.0

Traffic = tuple[tuple[VehicleParams, VehicleMotion], ...]


def lane_of(road: RoadParams, lateral_m: float) -> int | None:
    """The lane whose centre is nearest a road-frame lateral position, None off the road."""
    if not road.edge_y(-1) <= lateral_m <= road.edge_y(1):
        return None
    return min(range(road.lane_count), key=lambda i: abs(road.lane_centre_y(i) - lateral_m))


def apply_scenario(
    name: str, rng: np.random.Generator, scene: SceneParams, traffic: Traffic, ego_speed: float
) -> tuple[SceneParams, Traffic]:
    """The drive's scene and traffic (start vehicles with their motions) under scenario `name`
    (one of SCENARIOS; "drive" leaves them as sampled)."""
    if name not in SCENARIOS:
        raise ConfigError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    if name == "drive":
        return scene, traffic
    road = replace(scene.road, yaw_rad=0.0, curvature=0.0)
    if name == "braking-lead":
        kept = _clear_lanes(road, traffic, {road.ego_lane})
        lead = random_vehicle(rng, "car", road.lane_centre_y(road.ego_lane), LEAD_START_M, False)
        scripted = (lead, VehicleMotion(ego_speed, swing=LEAD_SWING_MPS))
    else:
        road, traffic = _with_neighbour(road, traffic)
        neighbour = _neighbour(road)
        kept = _clear_lanes(road, traffic, {road.ego_lane, neighbour})
        start, target = road.lane_centre_y(neighbour), road.lane_centre_y(road.ego_lane)
        car = random_vehicle(rng, "car", start, CUT_IN_START_M, False)
        motion = VehicleMotion(
            ego_speed + CUT_IN_SPEEDUP_MPS,
            shift_m=target - start,
            shift_start_s=CUT_IN_AT_S,
            shift_s=CUT_IN_S,
        )
        scripted = (car, motion)
    return replace(scene, road=road, vehicles=()), (*kept, scripted)


def _clear_lanes(road: RoadParams, traffic: Traffic, lanes: set[int]) -> Traffic:
    """The traffic without the vehicles in `lanes`."""
    return tuple((v, m) for v, m in traffic if lane_of(road, v.lateral_m) not in lanes)


def _neighbour(road: RoadParams) -> int | None:
    """A lane beside the ego lane with traffic in the ego direction: right first."""
    ego = road.ego_lane
    if ego + 1 < road.lane_count:
        return ego + 1
    if ego - 1 >= road.oncoming_lanes:
        return ego - 1
    return None


def _with_neighbour(road: RoadParams, traffic: Traffic) -> tuple[RoadParams, Traffic]:
    """The road with a same-direction lane beside the ego lane: as it is when it has one, else
    with a lane added on the right (cars parked on the right move out with the road edge)."""
    if _neighbour(road) is not None:
        return road, traffic
    edge = road.edge_y(1)
    markings = (*road.markings[:-1], Marking("dashed", "white"), road.markings[-1])
    wider = replace(road, lane_count=road.lane_count + 1, markings=markings)
    moved = tuple(
        (replace(v, lateral_m=v.lateral_m + road.lane_width_m) if v.lateral_m > edge else v, m)
        for v, m in traffic
    )
    return wider, moved
