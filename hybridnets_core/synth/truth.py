"""Ground truth of a rendered scene in the vehicle frame: vehicle positions and lane lines.

The renderer is a pinhole camera at height camera.height_m looking level along the road:
a road-frame point (lateral y right of the camera, distance d, height z) is at camera-frame
lateral y + bend(d) and depth d (see Projector). So with intrinsics fx = fy = focal,
cx = W / 2, cy = horizon (pixel centres on integer coordinates, as cv2 draws) and the
camera pose x = y = 0, z = height, level, a ground point of the vehicle frame (REP 103:
x forward, y left, origin on the ground below the camera) is

    x = d,   y = -(lateral + bend(d)),

exactly, with bend(d) = yaw * d + curvature * d^2 / 2, the same curve the pixels are drawn with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..scene.lanes import EgoLane
from .camera import Projector
from .road import RoadLayer, RoadParams
from .scene import BoxLabel, BoxSource, Scene, SceneParams
from .vehicles import CHASSIS_INSET_M, VehicleParams

LANE_STEP_M = 0.5
LANE_RANGE_M = 60.0


@dataclass(frozen=True)
class VehicleTruth:
    """One labelled vehicle of a frame.

    (x_m, y_m) is its ground contact point in the vehicle frame: where the near edge of its
    lowest part (the chassis, CHASSIS_INSET_M behind the face nearest to the camera) meets
    the ground, on the vehicle's centre line: the point `objects.locate_objects` estimates.
    Vertically it projects to the box's last row (within a pixel); horizontally the box also
    spans the visible side face of a vehicle off to the side, so the box's bottom centre lies
    between this point and the side face, by up to half that face's image width.
    heading_rad: the direction the vehicle faces (its road direction, plus pi if oncoming).
    """

    id: int  # persistent: the same vehicle keeps it in every frame, never reused
    category: str
    x_m: float
    y_m: float
    length_m: float
    width_m: float
    height_m: float
    heading_rad: float
    oncoming: bool
    box: BoxLabel  # the scene's label, pixels, x2/y2 exclusive
    visible_fraction: float  # of its on-screen silhouette, the rest hidden by nearer objects
    truncated: bool  # the silhouette reaches past the image border


@dataclass(frozen=True, eq=False)
class LaneLineTruth:
    """One line across the road (index 0 = left road edge) as float [M, 3] (x, y, 0) points.

    A dashed line is its continuous centre line, a double line the middle between its two
    stripes; kind 'none' is an unpainted road edge (geometry only, not in the lane mask).
    """

    index: int
    kind: str
    color: str
    points: np.ndarray

    @property
    def painted(self) -> bool:
        """Whether the line is painted, i.e. drawn into the lane mask."""
        return self.kind != "none"


@dataclass(frozen=True, eq=False)
class LaneTruth:
    """All lines of the road, left to right, and the ego lane they bound.

    Lines are sampled from x = 0 every step to the marked range (max_range, or less when
    the renderer stops marking where lines would merge in the image).
    """

    lines: tuple[LaneLineTruth, ...]
    ego_left: int  # index into lines of the ego lane's left boundary
    ego_right: int
    center: np.ndarray  # the ego lane's centre line, float [M, 3]

    def ego(self) -> EgoLane:
        """The ego lane as the lane fitter reports it: unpainted boundaries are None."""
        left, right = self.lines[self.ego_left], self.lines[self.ego_right]
        return EgoLane(
            left=left.points if left.painted else None,
            right=right.points if right.painted else None,
            center=self.center,
        )


def scene_projector(params: SceneParams, size: tuple[int, int]) -> Projector:
    """The projector render_scene draws a scene of size (W, H) with."""
    return Projector.create(size, params.camera, params.road.yaw_rad, params.road.curvature)


def vehicle_truth(
    proj: Projector, vehicle: VehicleParams, box: BoxLabel, source: BoxSource, vehicle_id: int
) -> VehicleTruth:
    """Ground contact point, size and heading of one labelled vehicle."""
    x = vehicle.distance_m + CHASSIS_INSET_M
    road_heading = -math.atan(
        proj.yaw + proj.curvature * (vehicle.distance_m + vehicle.length_m / 2)
    )
    heading = road_heading + math.pi if vehicle.oncoming else road_heading
    return VehicleTruth(
        id=vehicle_id,
        category=vehicle.category,
        x_m=x,
        y_m=-(vehicle.lateral_m + float(proj.bend(x))),
        length_m=vehicle.length_m,
        width_m=vehicle.width_m,
        height_m=vehicle.height_m,
        heading_rad=math.atan2(math.sin(heading), math.cos(heading)),
        oncoming=vehicle.oncoming,
        box=box,
        visible_fraction=source.visible_fraction,
        truncated=source.truncated,
    )


def lane_truth(
    proj: Projector,
    road: RoadParams,
    step_m: float = LANE_STEP_M,
    max_range_m: float = LANE_RANGE_M,
) -> LaneTruth:
    """Every line of the road in the vehicle frame, out to the range where it is marked."""
    end = min(max_range_m, RoadLayer.create(proj, road).marking_end_m)
    xs = np.append(np.arange(0.0, end, step_m), end)

    def polyline(lateral: float) -> np.ndarray:
        points = np.zeros((xs.size, 3))
        points[:, 0] = xs
        points[:, 1] = -(lateral + proj.bend(xs))
        return points

    lines = tuple(
        LaneLineTruth(i, m.kind, m.color, polyline(road.line_y(i)))
        for i, m in enumerate(road.markings)
    )
    centre = polyline(road.lane_centre_y(road.ego_lane))
    return LaneTruth(lines, road.ego_lane, road.ego_lane + 1, centre)


def scene_truth(
    params: SceneParams, size: tuple[int, int], scene: Scene, vehicle_ids: tuple[int, ...]
) -> tuple[tuple[VehicleTruth, ...], LaneTruth]:
    """Truth of a rendered scene: its labelled vehicles (in label order) and its lane lines.

    vehicle_ids[i] is the id reported for params.vehicles[i].
    """
    proj = scene_projector(params, size)
    vehicles = tuple(
        vehicle_truth(proj, params.vehicles[s.vehicle], box, s, vehicle_ids[s.vehicle])
        for box, s in zip(scene.boxes, scene.sources)
    )
    return vehicles, lane_truth(proj, params.road)
