"""One synthetic dashcam frame: sample its parameters, or render them into image and labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from . import appearance
from .appearance import LightingParams, sample_lighting
from .camera import CameraParams, Mount, Projector
from .raster import fill
from .road import RoadLayer, RoadParams, sample_road
from .scenery import SceneryParams, build_prop, draw_skyline, hood_polygon, sample_scenery
from .shapes import BGR, Drawing, Light, shade
from .vehicles import VehicleParams, build_vehicle, sample_vehicles, shadow_polygon

OCCLUDER_ID = 255  # id of props and the hood in the occlusion buffer; vehicles use 1..254
MAX_VEHICLES = OCCLUDER_ID - 1
MIN_VISIBLE_FRACTION = 0.1  # vehicles hidden more than this are not labelled
MIN_BOX_PX = 4  # at 1280 px width; smaller boxes are not labelled
HOOD_BGR = ((30, 30, 32), (200, 200, 200), (60, 40, 30), (30, 30, 150))


@dataclass(frozen=True)
class SceneParams:
    """Everything that defines a frame, independent of image size; edit it to animate a drive."""

    camera: CameraParams
    road: RoadParams
    vehicles: tuple[VehicleParams, ...]
    scenery: SceneryParams
    lighting: LightingParams
    hood_bgr: BGR


@dataclass(frozen=True)
class BoxLabel:
    """Visible extent of one vehicle in pixels, x2/y2 exclusive, clipped to the image."""

    category: str
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class BoxSource:
    """Which vehicle a box labels (index into SceneParams.vehicles) and how much of it shows.

    visible_fraction: share of its on-screen silhouette not hidden by nearer objects;
    truncated: the silhouette reaches past the image border.
    """

    vehicle: int
    visible_fraction: float
    truncated: bool


@dataclass
class Scene:
    """A rendered frame: BGR image, vehicle boxes, drivable-area and lane-line masks (0/255).

    sources[i] says which vehicle boxes[i] belongs to.
    """

    image: np.ndarray
    boxes: list[BoxLabel]
    drivable: np.ndarray
    lane: np.ndarray
    sources: list[BoxSource] = field(default_factory=list)


def sample_camera(rng: np.random.Generator) -> CameraParams:
    """Dashcam mounting: height, field of view, pitch (as horizon row) and visible hood."""
    return CameraParams(
        height_m=float(rng.uniform(1.2, 1.7)),
        focal_frac=float(rng.uniform(0.62, 0.95)),
        horizon_frac=float(rng.uniform(0.38, 0.52)),
        hood_frac=float(rng.uniform(0.05, 0.14)) if rng.random() < 0.35 else 0.0,
    )


def sample_scene_params(rng: np.random.Generator) -> SceneParams:
    """Draw a random scene: camera, road, traffic, scenery and lighting."""
    camera = sample_camera(rng)
    road = sample_road(rng)
    vehicles = sample_vehicles(rng, road)[:MAX_VEHICLES]
    return SceneParams(
        camera=camera,
        road=road,
        vehicles=vehicles,
        scenery=sample_scenery(rng, road),
        lighting=sample_lighting(rng),
        hood_bgr=HOOD_BGR[int(rng.integers(len(HOOD_BGR)))],
    )


def render_scene(
    rng_or_seed: np.random.Generator | int,
    size: tuple[int, int] = (1280, 720),
    params: SceneParams | None = None,
    mount: Mount | None = None,
) -> Scene:
    """Render a frame of size (W, H); parameters are sampled from the generator when not given.

    The generator also draws the sensor noise, so the same seed (or generator state) and
    parameters give identical bytes; for a video, keep the parameters' seeds and vary the
    generator per frame. `mount` renders the scene from a rig camera on the vehicle instead
    of the forward dashcam (the same intrinsics; see Projector).
    """
    rng = np.random.default_rng(rng_or_seed)
    params = sample_scene_params(rng) if params is None else params
    if len(params.vehicles) > MAX_VEHICLES:
        raise ValueError(f"at most {MAX_VEHICLES} vehicles per scene, got {len(params.vehicles)}")
    proj = Projector.create(size, params.camera, params.road.yaw_rad, params.road.curvature, mount)
    image, drivable, lane = _paint_ground(proj, params)
    ids = np.zeros(drivable.shape, np.uint8)
    placed = _paint_objects(image, ids, proj, params)
    if params.camera.hood_frac > 0:
        hood = hood_polygon(size, params.camera.hood_frac)
        fill(image, [hood], params.hood_bgr, antialias=True)
        fill(ids, [hood], OCCLUDER_ID, antialias=False)
    free = cv2.compare(ids, 0, cv2.CMP_EQ)
    cv2.bitwise_and(drivable, free, dst=drivable)
    cv2.bitwise_and(lane, free, dst=lane)
    labelled = _visible_boxes(ids, placed, params.vehicles)
    _develop(image, rng, proj, params.lighting, _visible_lights(ids, placed))
    return Scene(
        image=image,
        boxes=[box for box, _ in labelled],
        drivable=drivable,
        lane=lane,
        sources=[source for _, source in labelled],
    )


@dataclass(frozen=True)
class _Placed:
    """An object painted into the frame: its id, on-screen region, unoccluded pixel count and
    whether its silhouette reaches past the image border."""

    drawing: Drawing
    obj_id: int
    region: tuple[slice, slice]
    pixels: int
    truncated: bool


def _paint_ground(
    proj: Projector, params: SceneParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sky, terrain, road with markings and shadows; returns image, drivable and lane masks."""
    road, lighting = params.road, params.lighting
    horizon_row = int(np.clip(np.ceil(proj.horizon), 0, proj.height))
    image = np.empty((proj.height, proj.width, 3), np.uint8)
    appearance.paint_sky(image, horizon_row, lighting)
    image[horizon_row:] = params.scenery.terrain_bgr
    draw_skyline(image, proj.horizon, params.scenery)
    layer = RoadLayer.create(proj, road)
    layer.draw_surface(image, proj, road)
    layer.draw_markings(image, proj, road)
    drivable = np.zeros((proj.height, proj.width), np.uint8)
    lane = np.zeros_like(drivable)
    layer.draw_labels(drivable, lane, proj, road)
    appearance.add_ground_texture(image, params.scenery.texture_seed, horizon_row, lighting.grain)
    appearance.cast_shadows(image, proj, lighting)
    contact = shade(road.asphalt_bgr, 0.35)
    fill(image, [shadow_polygon(proj, v) for v in params.vehicles], contact, antialias=True)
    return image, drivable, lane


def _paint_objects(
    image: np.ndarray, ids: np.ndarray, proj: Projector, params: SceneParams
) -> list[_Placed]:
    """Vehicles and props far to near; vehicle i gets id i+1 in the occlusion buffer."""
    lit = params.lighting.lights_on
    objects = [(build_vehicle(proj, v), i + 1) for i, v in enumerate(params.vehicles)]
    objects += [(build_prop(proj, p, lit), OCCLUDER_ID) for p in params.scenery.props]
    objects.sort(key=lambda item: -item[0].depth)
    placed = []
    for drawing, obj_id in objects:
        region, truncated = _region(ids.shape, drawing)
        if region is None:
            continue
        for poly, color in drawing.body:
            fill(image, [poly], color, antialias=True)
        fill(ids, [poly for poly, _ in drawing.body], obj_id, antialias=False)
        for poly, color in drawing.details:
            fill(image, [poly], color, antialias=True)
        pixels = int(np.count_nonzero(ids[region] == obj_id))
        placed.append(_Placed(drawing, obj_id, region, pixels, truncated))
    return placed


def _region(shape: tuple[int, ...], drawing: Drawing) -> tuple[tuple[slice, slice] | None, bool]:
    """Image rows and columns covering an object's silhouette (None when off screen), and
    whether the silhouette reaches past the image border."""
    points = np.concatenate([poly for poly, _ in drawing.body])
    if len(points) == 0:  # wholly outside a rig camera's view
        return None, False
    low, high = points.min(axis=0), points.max(axis=0)
    height, width = shape[:2]
    # Pixel i covers [i - 0.5, i + 0.5), so the image spans [-0.5, size - 0.5).
    truncated = bool((low < -0.5).any() or high[0] > width - 0.5 or high[1] > height - 0.5)
    x0, y0 = np.floor(low).astype(int)
    x1, y1 = np.ceil(high).astype(int) + 1
    x0, x1, y0, y1 = max(x0, 0), min(x1, width), max(y0, 0), min(y1, height)
    if x0 >= x1 or y0 >= y1:
        return None, truncated
    return (slice(y0, y1), slice(x0, x1)), truncated


def _visible_boxes(
    ids: np.ndarray, placed: list[_Placed], vehicles: tuple[VehicleParams, ...]
) -> list[tuple[BoxLabel, BoxSource]]:
    """Boxes around the unoccluded pixels of each sufficiently visible vehicle, near first,
    each with the vehicle it belongs to."""
    min_side = max(2.0, MIN_BOX_PX * ids.shape[1] / 1280)
    found = []
    for item in placed:
        if item.obj_id == OCCLUDER_ID:
            continue
        rows, cols = np.nonzero(ids[item.region] == item.obj_id)
        if rows.size == 0 or rows.size < MIN_VISIBLE_FRACTION * item.pixels:
            continue
        x1, y1 = cols.min() + item.region[1].start, rows.min() + item.region[0].start
        x2, y2 = cols.max() + item.region[1].start + 1, rows.max() + item.region[0].start + 1
        if min(x2 - x1, y2 - y1) < min_side:
            continue
        vehicle = vehicles[item.obj_id - 1]
        box = BoxLabel(vehicle.category, float(x1), float(y1), float(x2), float(y2))
        source = BoxSource(item.obj_id - 1, rows.size / item.pixels, item.truncated)
        found.append((vehicle.distance_m, item.obj_id, box, source))
    return [(box, source) for _, _, box, source in sorted(found, key=lambda f: f[:2])]


def _visible_lights(ids: np.ndarray, placed: list[_Placed]) -> list[Light]:
    """Lamps whose centre pixel still belongs to their own object."""
    height, width = ids.shape
    lights = []
    for item in placed:
        for light in item.drawing.lights:
            u, v = int(light.u), int(light.v)
            if 0 <= u < width and 0 <= v < height and ids[v, u] == item.obj_id:
                lights.append(light)
    return lights


def _develop(
    image: np.ndarray,
    rng: np.random.Generator,
    proj: Projector,
    lighting: LightingParams,
    lights: list[Light],
) -> None:
    """Expose for the time of day, switch on lamps, then add camera blur and noise."""
    appearance.apply_tone(image, lighting)
    if lighting.mode == "night":
        appearance.headlight_cone(image, proj)
    if lighting.lights_on:
        appearance.draw_glows(image, lights)
    appearance.finish(image, rng, lighting)
