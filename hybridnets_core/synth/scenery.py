"""Roadside world: terrain colour, distant skyline, trees, poles, buildings and the ego hood."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import Projector
from .raster import fill
from .road import RoadParams
from .shapes import BGR, Block, Drawing, Light, circle_polygon, shade

TERRAIN_BGR = ((60, 115, 85), (70, 130, 120), (90, 140, 150), (150, 156, 160), (55, 95, 70))
FOLIAGE_BGR = ((40, 95, 55), (35, 80, 50), (50, 115, 80), (45, 100, 95))
FACADE_BGR = ((60, 75, 140), (150, 180, 200), (135, 138, 140), (205, 205, 200), (95, 110, 120))
POLE_BGR = (120, 122, 125)
TRUNK_BGR = (40, 55, 75)
WINDOW_BGR = (70, 60, 50)
LAMP_BGR = (150, 215, 255)
SIGN_BGR = ((150, 80, 20), (60, 120, 25), (225, 228, 230), (30, 190, 230), (40, 40, 190))
SKYLINE_POINTS = 48
MAX_DISTANCE_M = 220.0
FLOOR_M = 3.2


@dataclass(frozen=True)
class Prop:
    """A roadside object; width is across the road, depth along it (a sign's panel height)."""

    kind: str  # "tree", "pole", "sign" or "building"
    lateral_m: float
    distance_m: float
    width_m: float
    height_m: float
    depth_m: float
    color: BGR


@dataclass(frozen=True)
class SceneryParams:
    """Everything beside the road that is not traffic."""

    terrain_bgr: BGR
    skyline: tuple[float, ...]  # skyline height above the horizon, fraction of image height
    skyline_bgr: BGR
    props: tuple[Prop, ...]
    texture_seed: int  # fixes the ground texture, so frames of one drive do not flicker


def _pick(rng: np.random.Generator, palette: tuple[BGR, ...], jitter: int = 10) -> BGR:
    """A palette colour with a little random variation."""
    base = np.array(palette[int(rng.integers(len(palette)))])
    return tuple(int(c) for c in np.clip(base + rng.integers(-jitter, jitter + 1, 3), 0, 255))


def sample_scenery(rng: np.random.Generator, road: RoadParams) -> SceneryParams:
    """Terrain, skyline and props on both sides; buildings only along kerbed (urban) roads."""
    walk = np.cumsum(rng.normal(0.0, 0.004, SKYLINE_POINTS)) + rng.uniform(0.01, 0.05)
    skyline = np.clip(walk + np.abs(rng.normal(0.0, 0.006, SKYLINE_POINTS)), 0.0, 0.12)
    props: list[Prop] = []
    urban = road.sidewalk_m > 0
    for side in (-1, 1):
        base = road.asphalt_edge_y(side) + side * road.sidewalk_m
        if rng.random() < 0.6:
            props.extend(_row(rng, "pole", side, base + side * 0.4, rng.uniform(25, 45)))
        if rng.random() < 0.75:
            props.extend(_row(rng, "tree", side, base + side * 1.5, 0.0))
        if urban and rng.random() < 0.75:
            props.extend(_row(rng, "building", side, base + side * 3.0, 0.0))
        if rng.random() < (0.6 if side > 0 else 0.25):
            props.extend(_row(rng, "sign", side, base + side * 0.8, rng.uniform(40, 120)))
    return SceneryParams(
        terrain_bgr=_pick(rng, TERRAIN_BGR),
        skyline=tuple(float(h) for h in skyline),
        skyline_bgr=_pick(rng, (*FOLIAGE_BGR, (120, 120, 115)), 15),
        props=tuple(props),
        texture_seed=int(rng.integers(2**31)),
    )


def _row(rng: np.random.Generator, kind: str, side: int, edge: float, spacing: float) -> list[Prop]:
    """Props of one kind along one side of the road, starting at lateral `edge`."""
    props = []
    d = rng.uniform(2.0, 25.0)
    while d < MAX_DISTANCE_M:
        if kind == "pole":
            prop = Prop(kind, edge, d, 0.22, rng.uniform(7.0, 10.0), 0.22, POLE_BGR)
            d += spacing
        elif kind == "sign":
            panel = rng.uniform(0.6, 1.4)
            color = SIGN_BGR[int(rng.integers(len(SIGN_BGR)))]
            prop = Prop(
                kind, edge, d, panel, rng.uniform(2.2, 3.2), panel * rng.uniform(0.6, 1.0), color
            )
            d += spacing
        elif kind == "tree":
            crown = rng.uniform(3.0, 7.0)
            lateral = edge + side * (rng.uniform(0.0, 5.0) + crown / 2)
            prop = Prop(
                kind, lateral, d, crown, rng.uniform(5.0, 12.0), crown, _pick(rng, FOLIAGE_BGR)
            )
            d += rng.exponential(10.0) + 3.0
        else:
            width, depth = rng.uniform(8.0, 15.0), rng.uniform(10.0, 30.0)
            lateral = edge + side * (rng.uniform(0.0, 5.0) + width / 2)
            height = FLOOR_M * int(rng.integers(2, 8))
            prop = Prop(kind, lateral, d, width, height, depth, _pick(rng, FACADE_BGR))
            d += depth + rng.uniform(0.0, 8.0)
        props.append(prop)
    return props


def build_prop(proj: Projector, prop: Prop, lit: bool) -> Drawing:
    """Project a prop into polygons; `lit` turns street lamps on."""
    if prop.kind == "building":  # long along the road: sort by its far end, behind the traffic
        drawing = Drawing(depth=proj.range(prop.lateral_m, prop.distance_m + prop.depth_m))
    else:
        drawing = Drawing(depth=proj.range(prop.lateral_m, prop.distance_m))
    _BUILDERS[prop.kind](drawing, proj, prop, lit)
    return drawing


def _tree(drawing: Drawing, proj: Projector, prop: Prop, lit: bool) -> None:
    """Trunk and a crown of three overlapping discs."""
    d0 = prop.distance_m
    trunk = Block(prop.lateral_m, 0.35, d0, d0 + 0.35, 0.0, prop.height_m * 0.6)
    trunk.add_faces(drawing, proj, TRUNK_BGR)
    scale = proj.pixels_per_metre(d0, prop.lateral_m)
    radius = prop.width_m / 2
    for dy, dz, factor in ((-0.35, 0.0, 0.8), (0.35, 0.1, 0.9), (0.0, 0.35, 1.05)):
        y = prop.lateral_m + dy * radius
        if not proj.ahead(y, d0):
            continue
        u, v = proj.project(y, d0, prop.height_m - radius * (1 - dz))
        drawing.body.append((circle_polygon(u, v, radius * scale), shade(prop.color, factor)))


def _pole(drawing: Drawing, proj: Projector, prop: Prop, lit: bool) -> None:
    """Street lamp: mast and an arm reaching over the road, glowing when lit."""
    d0, top = prop.distance_m, prop.height_m
    Block(prop.lateral_m, prop.width_m, d0, d0 + prop.width_m, 0.0, top).add_faces(
        drawing, proj, POLE_BGR
    )
    towards_road = -1.0 if prop.lateral_m > 0 else 1.0
    arm = Block(prop.lateral_m + towards_road, 2.0, d0, d0 + 0.15, top - 0.2, top)
    arm.add_faces(drawing, proj, POLE_BGR)
    lamp = prop.lateral_m + towards_road * 1.9
    if lit and proj.ahead(lamp, d0):
        u, v = proj.project(lamp, d0, top - 0.3)
        scale = proj.pixels_per_metre(d0, lamp)
        drawing.lights.append(Light(float(u), float(v), 0.5 * scale, LAMP_BGR))


def _sign(drawing: Drawing, proj: Projector, prop: Prop, lit: bool) -> None:
    """Traffic sign: thin post with a coloured panel on top."""
    d0, top = prop.distance_m, prop.height_m
    post = Block(prop.lateral_m, 0.08, d0, d0 + 0.08, 0.0, top - prop.depth_m / 2)
    post.add_faces(drawing, proj, POLE_BGR)
    panel = Block(prop.lateral_m, prop.width_m, d0 - 0.02, d0, top - prop.depth_m, top)
    panel.add_faces(drawing, proj, prop.color)
    inner = proj.polygon(*panel.near_rect(0.1, 0.9, 0.12, 0.88))
    drawing.details.append((inner, shade(prop.color, 0.85)))


def _building(drawing: Drawing, proj: Projector, prop: Prop, lit: bool) -> None:
    """A block of flats with bands of windows on the faces the camera sees."""
    d0 = prop.distance_m
    house = Block(prop.lateral_m, prop.width_m, d0, d0 + prop.depth_m, 0.0, prop.height_m)
    house.add_faces(drawing, proj, prop.color)
    side = house.visible_side(proj)
    floors = round(prop.height_m / FLOOR_M)
    for floor in range(floors):
        fz0, fz1 = (floor + 0.35) / floors, (floor + 0.75) / floors
        drawing.details.append((proj.polygon(*house.near_rect(0.1, 0.9, fz0, fz1)), WINDOW_BGR))
        if side is not None:
            quad = proj.polygon(*house.side_rect(side, 0.05, 0.95, fz0, fz1))
            drawing.details.append((quad, shade(WINDOW_BGR, 0.8)))


_BUILDERS = {"tree": _tree, "pole": _pole, "sign": _sign, "building": _building}


def draw_skyline(img: np.ndarray, horizon: float, scenery: SceneryParams) -> None:
    """Distant tree line or hills standing on the horizon."""
    height, width = img.shape[:2]
    u = np.linspace(0.0, width, SKYLINE_POINTS)
    v = horizon - np.array(scenery.skyline) * height
    poly = np.concatenate([np.stack([u, v], 1), [[width, horizon + 1.0], [0.0, horizon + 1.0]]])
    fill(img, [poly], scenery.skyline_bgr, antialias=True)


def hood_polygon(size: tuple[int, int], hood_frac: float) -> np.ndarray:
    """The ego car's bonnet: a shallow arch rising from the bottom corners."""
    width, height = size
    u = np.linspace(0.0, width, 33)
    arch = 1.0 - 0.7 * ((u / width - 0.5) * 2) ** 2
    v = height * (1.0 - hood_frac * arch)
    return np.concatenate([np.stack([u, v], 1), [[width, height], [0.0, height]]])
