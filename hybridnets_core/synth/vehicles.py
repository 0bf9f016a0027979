"""Cars, trucks and buses: sampling along lanes and drawing as shaded 3D boxes in perspective."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import Projector
from .road import RoadParams
from .shapes import BGR, Block, Drawing, Light, shade

CATEGORIES = ("car", "truck", "bus")
CATEGORY_P = (0.74, 0.16, 0.10)
# (width, height, length) ranges in metres per category.
SIZE_RANGES = {
    "car": ((1.7, 1.95), (1.4, 1.8), (3.9, 5.0)),
    "truck": ((2.3, 2.55), (2.8, 3.9), (6.5, 13.0)),
    "bus": ((2.5, 2.55), (3.0, 3.4), (10.5, 13.0)),
}
BODY_BGR = (
    (235, 235, 235), (200, 200, 198), (140, 140, 138), (40, 40, 42), (25, 25, 28),
    (40, 40, 170), (140, 70, 30), (90, 40, 20), (60, 90, 60), (120, 160, 190), (30, 150, 210),
)  # fmt: skip
GLASS_BGR = (62, 52, 44)
DARK_BGR = (22, 22, 24)
TAIL_BGR = (40, 40, 200)
HEAD_BGR = (205, 225, 235)
PLATE_BGR = (215, 220, 222)
CAB_LENGTH_M = 2.3
CHASSIS_INSET_M = 0.1  # the dark underbody, the part touching the ground, starts this far in
MAX_DISTANCE_M = 130.0
PARKING_WIDTH_M = 2.0  # shoulders at least this wide get parked cars
LampPlacement = tuple[Block, tuple[float, float]]  # face carrying the lamps, their height span


@dataclass(frozen=True)
class VehicleParams:
    """One vehicle, aligned with the road; distance_m is the face nearest to the camera."""

    category: str
    lateral_m: float  # centre, in the road frame (see Projector)
    distance_m: float
    width_m: float
    height_m: float
    length_m: float
    color: BGR
    oncoming: bool  # facing the camera (front visible) instead of driving away (rear visible)
    style: float  # car body shape from saloon (0) to SUV or van (1); unused for trucks and buses


def sample_vehicles(rng: np.random.Generator, road: RoadParams) -> tuple[VehicleParams, ...]:
    """Traffic in every lane (random density, no overlaps) plus cars parked on wide shoulders."""
    density = rng.uniform(0.15, 0.85)
    vehicles: list[VehicleParams] = []
    for lane in range(road.lane_count):
        oncoming = lane < road.oncoming_lanes
        d = rng.uniform(7.0 if lane == road.ego_lane else 3.0, 30.0)
        while d < MAX_DISTANCE_M:
            category = str(rng.choice(CATEGORIES, p=CATEGORY_P))
            if rng.random() < density:
                centre = road.lane_centre_y(lane) + rng.normal(0.0, 0.2)
                vehicles.append(random_vehicle(rng, category, centre, d, oncoming))
            d += SIZE_RANGES[category][2][1] + rng.exponential(18.0) + 3.0
    for side in (-1, 1):
        shoulder = abs(road.asphalt_edge_y(side) - road.edge_y(side))
        if shoulder >= PARKING_WIDTH_M and rng.random() < 0.5:
            centre = road.edge_y(side) + side * 0.5 * shoulder
            d = rng.uniform(3.0, 15.0)
            while d < MAX_DISTANCE_M:
                if rng.random() < 0.7:
                    vehicles.append(random_vehicle(rng, "car", centre, d, bool(rng.random() < 0.2)))
                d += 5.2 + rng.exponential(3.0)
    return tuple(vehicles)


def random_vehicle(
    rng: np.random.Generator, category: str, centre: float, distance: float, oncoming: bool
) -> VehicleParams:
    """Random dimensions and paint for one vehicle of `category`."""
    (w0, w1), (h0, h1), (l0, l1) = SIZE_RANGES[category]
    color = BODY_BGR[int(rng.integers(len(BODY_BGR)))]
    style = float(rng.random())
    height = rng.uniform(h0, h1)
    if category == "car":  # taller cars are SUVs and vans
        height = h0 + (h1 - h0) * np.clip(style + rng.normal(0.0, 0.1), 0.0, 1.0)
    return VehicleParams(
        category=category,
        lateral_m=float(centre),
        distance_m=float(distance),
        width_m=float(rng.uniform(w0, w1)),
        height_m=float(height),
        length_m=float(rng.uniform(l0, l1)),
        color=tuple(int(np.clip(c + rng.integers(-12, 13), 0, 255)) for c in color),
        oncoming=oncoming,
        style=style,
    )


def build_vehicle(proj: Projector, v: VehicleParams) -> Drawing:
    """Project a vehicle into polygons: body blocks far to near, then windows, tyres, lamps."""
    drawing = Drawing(depth=proj.range(v.lateral_m, v.distance_m))
    chassis_top = 0.35 if v.category == "car" else 0.9
    d0, d1 = v.distance_m, v.distance_m + v.length_m
    inset = CHASSIS_INSET_M
    chassis = Block(v.lateral_m, v.width_m * 0.92, d0 + inset, d1 - inset, 0.0, chassis_top)
    lamp_face, lamp_z = _BODIES[v.category](drawing, proj, v, chassis)
    _add_wheels(drawing, proj, chassis, v)
    _add_lamps(drawing, proj, lamp_face, lamp_z, v)
    return drawing


def _car(drawing: Drawing, proj: Projector, v: VehicleParams, chassis: Block) -> LampPlacement:
    """Lower body plus a tapered glass cabin, placed by body style (saloon to van)."""
    d0, d1 = v.distance_m, v.distance_m + v.length_m
    body = Block(v.lateral_m, v.width_m, d0, d1, 0.28, (0.55 - 0.05 * v.style) * v.height_m)
    trunk, bonnet = 0.28 - 0.22 * v.style, 0.35 - 0.2 * v.style
    cab_near, cab_far = (bonnet, trunk) if v.oncoming else (trunk, bonnet)
    cabin = Block(
        v.lateral_m, 0.9 * v.width_m, d0 + cab_near * v.length_m, d1 - cab_far * v.length_m,
        body.z1, v.height_m, taper=0.25 - 0.12 * v.style,
    )  # fmt: skip
    chassis.add_faces(drawing, proj, DARK_BGR)
    body.add_faces(drawing, proj, v.color)
    cabin.add_faces(drawing, proj, v.color)
    _add_glass(drawing, proj, cabin, near=(0.07, 0.93, 0.1, 0.9), side=(0.04, 0.96, 0.12, 0.85))
    bumper = proj.polygon(*body.near_rect(0.0, 1.0, 0.0, 0.25))
    drawing.details.append((bumper, shade(v.color, 0.6)))
    return body, (0.5, 0.8)


def _truck(drawing: Drawing, proj: Projector, v: VehicleParams, chassis: Block) -> LampPlacement:
    """Cab and cargo box on a dark chassis; the cab leads when the truck comes towards us."""
    d0, d1 = v.distance_m, v.distance_m + v.length_m
    cab_h, cargo_color = min(v.height_m, 3.0), shade(v.color, 0.95)
    if v.oncoming:
        cab = Block(v.lateral_m, v.width_m, d0, d0 + CAB_LENGTH_M, 0.5, cab_h)
        cargo = Block(v.lateral_m, v.width_m, cab.d1 + 0.3, d1, chassis.z1, v.height_m)
        parts = [(cargo, cargo_color), (chassis, DARK_BGR), (cab, v.color)]
    else:
        cab = Block(v.lateral_m, v.width_m * 0.97, d1 - CAB_LENGTH_M, d1, 0.5, cab_h)
        cargo = Block(v.lateral_m, v.width_m, d0, cab.d0 - 0.3, chassis.z1, v.height_m)
        parts = [(cab, v.color), (chassis, DARK_BGR), (cargo, cargo_color)]
    for block, color in parts:
        block.add_faces(drawing, proj, color)
    if v.oncoming:
        _add_glass(drawing, proj, cab, near=(0.06, 0.94, 0.55, 0.92), side=(0.1, 0.7, 0.55, 0.9))
        return cab, (0.08, 0.2)
    seam = proj.polygon(*cargo.near_rect(0.495, 0.505, 0.03, 0.97))
    drawing.details.append((seam, shade(v.color, 0.55)))
    return chassis, (0.45, 0.8)


def _bus(drawing: Drawing, proj: Projector, v: VehicleParams, chassis: Block) -> LampPlacement:
    """One tall box with a band of side windows and a windscreen or rear window."""
    body = Block(v.lateral_m, v.width_m, v.distance_m, v.distance_m + v.length_m, 0.3, v.height_m)
    chassis.add_faces(drawing, proj, DARK_BGR)
    body.add_faces(drawing, proj, v.color)
    near = (0.05, 0.95, 0.4, 0.93) if v.oncoming else (0.12, 0.88, 0.62, 0.9)
    _add_glass(drawing, proj, body, near=near, side=(0.06, 0.94, 0.5, 0.85))
    return body, (0.08, 0.2)


_BODIES = {"car": _car, "truck": _truck, "bus": _bus}


def _add_glass(
    drawing: Drawing,
    proj: Projector,
    block: Block,
    near: tuple[float, float, float, float],
    side: tuple[float, float, float, float],
) -> None:
    """Windows on the near face and the visible side of a block."""
    drawing.details.append((proj.polygon(*block.near_rect(*near)), GLASS_BGR))
    visible = block.visible_side(proj)
    if visible is not None:
        quad = proj.polygon(*block.side_rect(visible, *side))
        drawing.details.append((quad, shade(GLASS_BGR, 0.8)))


def _add_wheels(drawing: Drawing, proj: Projector, chassis: Block, v: VehicleParams) -> None:
    """Tyres on the visible side: one pair near each end of the vehicle."""
    side = chassis.visible_side(proj)
    if side is None:
        return
    radius = 0.34 if v.category == "car" else 0.5
    span = radius / max(chassis.d1 - chassis.d0, 1e-3)
    top = 2 * radius / chassis.z1
    for centre in (0.14, 0.86):
        rect = chassis.side_rect(side, centre - span, centre + span, 0.0, top)
        drawing.details.append((proj.polygon(*rect), (12, 12, 12)))


def _add_lamps(
    drawing: Drawing,
    proj: Projector,
    face: Block,
    fz: tuple[float, float],
    v: VehicleParams,
) -> None:
    """Head or tail lamps on the near face, plus a number plate; records their glow sources."""
    color = HEAD_BGR if v.oncoming else TAIL_BGR
    scale = proj.pixels_per_metre(face.d0, face.y)
    for fx0, fx1 in ((0.03, 0.2), (0.8, 0.97)):
        poly = proj.polygon(*face.near_rect(fx0, fx1, *fz))
        drawing.details.append((poly, color))
        if len(poly) == 0:  # behind a rig camera
            continue
        u, vv = poly.mean(axis=0)
        drawing.lights.append(Light(float(u), float(vv), 0.2 * scale, color))
    low = 0.1 if fz[0] >= 0.3 else fz[1] + 0.03
    drawing.details.append((proj.polygon(*face.near_rect(0.4, 0.6, low, low + 0.12)), PLATE_BGR))


def shadow_polygon(proj: Projector, v: VehicleParams) -> np.ndarray:
    """Ground footprint darkened under a vehicle."""
    half = v.width_m / 2 + 0.15
    ys = v.lateral_m + np.array([-half, half, half, -half])
    ds = v.distance_m + np.array([-0.25, -0.25, v.length_m, v.length_m])
    return proj.polygon(ys, ds)
