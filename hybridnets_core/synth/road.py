"""Road geometry: lanes, painted markings, and their drivable-area and lane-line labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import Projector
from .raster import fill, polyline

PAINT_BGR = {"white": (228, 232, 234), "yellow": (40, 178, 226)}
MARKING_KINDS = ("none", "solid", "dashed", "double")
DOUBLE_GAP_M = 0.12  # clear gap between the two stripes of a double line
TRACK_OFFSET_M = 0.8  # tyre tracks sit this far either side of a lane centre
TRACK_WIDTH_M = 0.5
# Labels stop where neighbouring lines would come closer than this many label widths.
LABEL_SEPARATION = 3.0
SAMPLES = 64  # distances at which road edges and lines are projected
ROAD_BEHIND_M = 60.0  # a rig camera's road starts this far behind it


@dataclass(frozen=True)
class Marking:
    """One painted line across the road: kind in MARKING_KINDS, colour 'white' or 'yellow'."""

    kind: str
    color: str

    def __post_init__(self) -> None:
        if self.kind not in MARKING_KINDS or self.color not in PAINT_BGR:
            raise ValueError(f"unknown marking {self.kind!r} {self.color!r}")


@dataclass(frozen=True)
class RoadParams:
    """A straight or curved road of parallel lanes; lanes and lines count from the left."""

    lane_count: int
    lane_width_m: float
    ego_lane: int
    ego_offset_m: float  # camera position right of the ego lane centre
    yaw_rad: float  # road heading relative to the camera, positive turns right
    curvature: float  # 1/m, positive bends right
    markings: tuple[Marking, ...]  # lane_count + 1 lines
    oncoming_lanes: int  # leftmost lanes that carry oncoming traffic
    shoulder_m: float  # asphalt outside a painted edge line (parking or breakdown strip)
    sidewalk_m: float  # concrete kerb strip outside the asphalt, 0 = none
    dash_length_m: float
    dash_gap_m: float
    dash_phase_m: float  # shifts the dash pattern; advancing it animates driving
    line_width_m: float
    length_m: float  # visible road length
    asphalt_bgr: tuple[int, int, int]
    paint_fade: float  # 0 = fresh paint, 1 = worn to asphalt

    def line_y(self, index: int) -> float:
        """Lateral position of line `index` (0 = left road edge) relative to the camera."""
        return (index - self.ego_lane - 0.5) * self.lane_width_m - self.ego_offset_m

    def lane_centre_y(self, lane: int) -> float:
        """Lateral position of the centre of `lane` relative to the camera."""
        return self.line_y(lane) + 0.5 * self.lane_width_m

    def edge_y(self, side: int) -> float:
        """Outer edge of the drivable area on side -1 (left) or +1 (right)."""
        index = 0 if side < 0 else self.lane_count
        half = 0.5 * self.line_width_m if self.markings[index].kind != "none" else 0.0
        return self.line_y(index) + side * half

    def asphalt_edge_y(self, side: int) -> float:
        """Outer edge of the asphalt (drivable area plus shoulder) on side -1 or +1."""
        index = 0 if side < 0 else self.lane_count
        shoulder = self.shoulder_m if self.markings[index].kind != "none" else 0.0
        return self.edge_y(side) + side * shoulder

    def stripes_y(self, index: int) -> tuple[float, ...]:
        """Centres of the painted stripes that make up line `index`."""
        kind = self.markings[index].kind
        if kind == "none":
            return ()
        y = self.line_y(index)
        if kind == "double":
            half = 0.5 * (DOUBLE_GAP_M + self.line_width_m)
            return (y - half, y + half)
        return (y,)


def sample_road(rng: np.random.Generator) -> RoadParams:
    """Draw a random plausible road: lane count, traffic directions, markings and bend."""
    lane_count = int(rng.choice([1, 2, 3, 4], p=[0.15, 0.35, 0.3, 0.2]))
    oncoming = 0
    if lane_count >= 2 and rng.random() < 0.45:
        oncoming = lane_count // 2 if rng.random() < 0.7 else 1
    markings = _sample_markings(rng, lane_count, oncoming)
    ego_lane = int(rng.integers(oncoming, lane_count)) if oncoming < lane_count else 0
    lane_width = float(rng.uniform(3.0, 3.8))
    curvature = 0.0 if rng.random() < 0.4 else float(rng.uniform(-1.0, 1.0) / rng.uniform(120, 900))
    gray = int(rng.integers(70, 135))
    tint = rng.integers(-6, 7, size=3)
    shoulder = float(rng.choice([0.3, rng.uniform(0.3, 1.0), rng.uniform(2.0, 2.8)]))
    return RoadParams(
        lane_count=lane_count,
        lane_width_m=lane_width,
        ego_lane=ego_lane,
        ego_offset_m=float(rng.normal(0.0, 0.25)),
        yaw_rad=float(rng.normal(0.0, 0.015)),
        curvature=curvature,
        markings=markings,
        oncoming_lanes=oncoming,
        shoulder_m=shoulder,
        sidewalk_m=float(rng.uniform(1.5, 3.5)) if rng.random() < 0.5 else 0.0,
        dash_length_m=float(rng.uniform(2.5, 4.5)),
        dash_gap_m=float(rng.uniform(5.0, 10.0)),
        dash_phase_m=float(rng.uniform(0.0, 15.0)),
        line_width_m=float(rng.uniform(0.12, 0.2)),
        length_m=float(rng.uniform(150.0, 400.0)),
        asphalt_bgr=tuple(int(np.clip(gray + t, 0, 255)) for t in tint),
        paint_fade=float(rng.uniform(0.0, 0.45)),
    )


def _sample_markings(
    rng: np.random.Generator, lane_count: int, oncoming: int
) -> tuple[Marking, ...]:
    """Edge lines, lane separators and (for two-way roads) a yellow centre line."""
    marks = []
    for index in range(lane_count + 1):
        if index in (0, lane_count):
            if rng.random() < 0.15:
                marks.append(Marking("none", "white"))
            elif index == 0 and oncoming == 0 and rng.random() < 0.3:
                marks.append(Marking("solid", "yellow"))
            else:
                marks.append(Marking("solid", "white"))
        elif index == oncoming:
            kind = rng.choice(["double", "dashed", "solid"], p=[0.6, 0.25, 0.15])
            marks.append(Marking(str(kind), "yellow"))
        else:
            marks.append(Marking("dashed" if rng.random() < 0.85 else "solid", "white"))
    return tuple(marks)


def label_thickness(width: int) -> int:
    """Lane-label line width: 8 px at 1280 columns, scaled with the image."""
    return max(1, round(8 * width / 1280))


@dataclass(frozen=True)
class RoadLayer:
    """Distances at which the road is drawn and how far its markings and labels reach."""

    distances: np.ndarray
    marking_end_m: float

    @classmethod
    def create(cls, proj: Projector, road: RoadParams) -> RoadLayer:
        """Sample distances from below the bottom row to the end of the visible road."""
        start = 0.6 * proj.near_distance()
        distances = np.geomspace(start, max(road.length_m, 2 * start), SAMPLES)
        if proj.mount is not None:  # a rig camera may look beside or behind: road from behind
            behind = np.linspace(proj.mount.x - ROAD_BEHIND_M, start, SAMPLES, endpoint=False)
            distances = np.concatenate([behind, distances])
        px_limit = LABEL_SEPARATION * label_thickness(proj.width)
        marking_end = min(road.length_m, road.lane_width_m * proj.focal / px_limit)
        return cls(distances=distances, marking_end_m=max(marking_end, 2 * start))

    def strip(
        self, proj: Projector, y0: float, y1: float, d_max: float | None = None
    ) -> np.ndarray:
        """Polygon of the ground strip between lateral positions y0 and y1."""
        d = self.distances if d_max is None else self._until(d_max)
        ys = np.concatenate([np.full(d.size, y0), np.full(d.size, y1)])
        return proj.polygon(ys, np.concatenate([d, d[::-1]]))

    def _until(self, d_max: float) -> np.ndarray:
        """Sample distances up to d_max, ending exactly at it."""
        d = self.distances[self.distances < d_max]
        return np.append(d, d_max)

    def draw_surface(self, img: np.ndarray, proj: Projector, road: RoadParams) -> None:
        """Kerbs, asphalt and tyre tracks on the photo."""
        left, right = road.asphalt_edge_y(-1), road.asphalt_edge_y(1)
        if road.sidewalk_m > 0:
            kerb = tuple(int(min(255, c * 1.25 + 20)) for c in road.asphalt_bgr)
            strip = self.strip(proj, left - road.sidewalk_m, right + road.sidewalk_m)
            fill(img, [strip], kerb, antialias=True)
        fill(img, [self.strip(proj, left, right)], road.asphalt_bgr, antialias=True)
        track = tuple(max(0, c - 5) for c in road.asphalt_bgr)
        tracks = []
        for lane in range(road.lane_count):
            centre = road.lane_centre_y(lane)
            for side in (-1.0, 1.0):
                y = centre + side * TRACK_OFFSET_M
                tracks.append(self.strip(proj, y - TRACK_WIDTH_M / 2, y + TRACK_WIDTH_M / 2))
        fill(img, tracks, track, antialias=True)

    def draw_markings(self, img: np.ndarray, proj: Projector, road: RoadParams) -> None:
        """Painted solid, dashed and double lines on the photo."""
        for index, marking in enumerate(road.markings):
            paint = np.array(PAINT_BGR[marking.color], float)
            color = tuple(
                int(c) for c in paint + road.paint_fade * (np.array(road.asphalt_bgr) - paint)
            )
            polys = []
            for y in road.stripes_y(index):
                y0, y1 = y - road.line_width_m / 2, y + road.line_width_m / 2
                if marking.kind == "dashed":
                    polys.extend(self._dashes(proj, road, y0, y1))
                else:
                    polys.append(self.strip(proj, y0, y1, self.marking_end_m))
            fill(img, polys, color, antialias=True)

    def _dashes(self, proj: Projector, road: RoadParams, y0: float, y1: float) -> list[np.ndarray]:
        """Quadrilaterals of the dashes of one stripe, clipped to the marked distance range."""
        period = road.dash_length_m + road.dash_gap_m
        first = self.distances[0]
        behind = np.floor(min(first, 0.0) / period) * period  # 0 unless the road starts behind
        starts = np.arange(
            -road.dash_phase_m % period - period + behind, self.marking_end_m, period
        )
        polys = []
        for start in starts:
            a, b = max(start, first), min(start + road.dash_length_m, self.marking_end_m)
            if b <= a:
                continue
            d = np.linspace(a, b, 3)
            ys = np.array([y0, y0, y0, y1, y1, y1])
            polys.append(proj.polygon(ys, np.concatenate([d, d[::-1]])))
        return polys

    def draw_labels(
        self, drivable: np.ndarray, lane: np.ndarray, proj: Projector, road: RoadParams
    ) -> None:
        """Drivable area between the road edges, and lane lines of fixed pixel width.

        A dashed line is labelled as one continuous line, as BDD100K annotators draw it.
        """
        fill(drivable, [self.strip(proj, road.edge_y(-1), road.edge_y(1))], 255, antialias=False)
        thickness = label_thickness(proj.width)
        d = self._until(self.marking_end_m)
        for index in range(road.lane_count + 1):
            for y in road.stripes_y(index):
                polyline(lane, proj.polyline(y, d), 255, thickness)
