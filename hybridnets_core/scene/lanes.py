"""Lane lines as geometry: lane-mask ground points to fitted polylines and the ego lane.

Input are ground points in the vehicle frame (REP 103: x forward, y left, z = 0), as
GroundProjector.ground_points gives them for a lane-line mask. Lines are found in four steps:

1. Slices across the direction of travel (short near the car, longer with range, where the
   points thin out); in each slice the points split into clusters at lateral gaps (on a
   lateral grid of cluster_gap_m / 4, so no sort: linear in the points). Clusters too wide
   (stop lines, blobs) or too small (speckle) are left out.
2. Clusters are chained slice by slice from near to far: a chain continues with the cluster
   nearest to its linear extrapolation, within a tolerance that grows with the gap, so
   dashes, occlusions and curves are followed while lines ~3.5 m apart stay apart.
3. Every chain gets a weighted least-squares polynomial y(x) (straight when short, quadratic
   when long) on its cluster centroids, all chains in one batched solve; chains that
   continue each other are merged, and centroids far from the fit are rejected before the
   final fit. Chains with too few points, slices or length are dropped.
4. The ego lane's boundaries are a line left and one right of the car's path (y = 0) at a
   reference distance whose spacing is a plausible lane width (nearest to lane_width_m);
   its centre line is their mean where both are seen.

Everything is frame-free arrays: polylines are float32 [M, 3] (x, y, 0) in the frame of the
input points, sampled at a fixed step along x.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, InputError
from ..settings import check_settings, setting
from .ground import GridSpec, GroundProjector

_FIT_SCALE_M = 20.0  # fits use u = (x - 20) / 20, which keeps the normal equations well scaled
_RIDGE = 1e-9  # keeps a chain's normal equations solvable when its centroids are few
_GAP_BINS = 4  # lateral bins per cluster_gap_m
_X_STEP_M = 0.05  # resolution of the range-to-slice table
_HANKEL = np.add.outer(np.arange(3), np.arange(3))  # normal-equation entry (i, j) uses u^(i+j)
_DIAGONAL = np.arange(3)
_EYE = np.eye(3)
_POWERS = np.arange(5)
FIT_CONFIDENCE_RMS_M = 0.15  # rms residual (m) that halves a line's confidence: a line's width


@dataclass(frozen=True)
class LaneSettings:
    """Tuning of lane-line fitting; distances in metres along x (forward) or y (left).

    The defaults suit a dashcam at ~1.5 m looking level, lanes 3-3.8 m wide, labels or
    network masks at 640-1280 px width.
    """

    min_range_m: float = setting(
        2.0,
        "Lane points nearer than this (m) are ignored (bonnet, mask border).",
        low=0.0,
        high=100.0,
    )
    max_range_m: float = setting(
        60.0,
        "Lane points farther than this (m) are ignored (too sparse to help).",
        low=0.5,
        high=200.0,
    )
    max_lateral_m: float = setting(
        12.0, "Lane points further than this (m) left or right are ignored.", low=0.5, high=50.0
    )
    slice_m: float = setting(
        0.75, "Length (m) of the slices across the road near the car.", low=0.1, high=20.0
    )
    slice_growth: float = setting(
        0.06,
        "Slice length as a fraction of the range, where longer than slice_m (0 = fixed length).",
        low=0.0,
        high=1.0,
    )
    cluster_gap_m: float = setting(
        0.6,
        "A lateral gap (m) wider than this in a slice separates two lines.",
        low=0.1,
        high=10.0,
    )
    max_cluster_spread_m: float = setting(
        0.5,
        "Clusters of larger lateral standard deviation (m) are no lane lines (stop lines, blobs).",
        low=0.01,
        high=10.0,
    )
    min_cluster_points: int = setting(
        2, "Clusters of fewer ground points are speckle, never used.", low=1, high=100_000
    )
    min_seed_points: int = setting(
        4, "Clusters of fewer points only join lines found from larger ones.", low=1, high=100_000
    )
    attach_tolerance_m: float = setting(
        0.5,
        "How near (m) to a line's fit a cluster under min_seed_points must lie to join it.",
        low=0.0,
        high=10.0,
    )
    link_tolerance_m: float = setting(
        0.5,
        "Lateral tolerance (m) for continuing a chain with the next cluster, at no gap.",
        low=0.01,
        high=10.0,
    )
    link_tolerance_per_m: float = setting(
        0.05, "Growth of the chain tolerance (m) per metre of gap.", low=0.0, high=1.0
    )
    max_link_tolerance_m: float = setting(
        1.2, "Largest chain tolerance (m); keep it under half a lane width.", low=0.01, high=10.0
    )
    max_gap_m: float = setting(
        16.0, "Longest gap (m) a chain bridges (dash gaps, occlusions).", low=0.1, high=200.0
    )
    merge_gap_m: float = setting(
        30.0, "Longest gap (m) between two chains merged into one line.", low=0.0, high=200.0
    )
    min_points: int = setting(30, "Fewest ground points of a lane line.", low=1, high=10_000_000)
    min_slices: int = setting(
        4, "Fewest slices a lane line's points span (a blob covers one or two).", low=1, high=10_000
    )
    min_length_m: float = setting(
        4.0, "Shortest extent (m) along x of a lane line.", low=0.0, high=200.0
    )
    quadratic_min_length_m: float = setting(
        15.0,
        "Lines shorter than this (m) are fitted straight, longer ones quadratic.",
        low=0.0,
        high=200.0,
    )
    outlier_sigma: float = setting(
        3.0,
        "Slice centroids beyond this many rms residuals from the fit are rejected.",
        low=0.1,
        high=100.0,
    )
    outlier_floor_m: float = setting(
        0.1,
        "Centroids this near (m) to the fit are never rejected, at zero range.",
        low=0.0,
        high=10.0,
    )
    outlier_floor_per_m: float = setting(
        0.01, "Growth of that never-rejected distance (m) per metre of range.", low=0.0, high=1.0
    )
    fit_iterations: int = setting(
        2, "Outlier-rejection rounds after the first fit.", low=0, high=100
    )
    step_m: float = setting(
        0.5, "Sampling step (m) along x of the output polylines.", low=0.01, high=10.0
    )
    reference_m: float = setting(
        8.0,
        "Distance ahead (m) at which the ego lane's boundaries are chosen.",
        low=0.0,
        high=200.0,
    )
    max_boundary_offset_m: float = setting(
        4.0,
        "An ego-lane boundary lies at most this far (m) from the car's path.",
        low=0.1,
        high=50.0,
    )
    lane_width_m: float = setting(
        3.5,
        "Typical lane width (m): the plausible boundary pair nearest to it wins.",
        low=0.5,
        high=20.0,
    )
    min_lane_width_m: float = setting(
        2.5, "Narrowest plausible lane (m) between the ego lane's boundaries.", low=0.1, high=20.0
    )
    max_lane_width_m: float = setting(
        5.0, "Widest plausible lane (m) between the ego lane's boundaries.", low=0.1, high=20.0
    )
    max_extrapolation_m: float = setting(
        10.0, "A line is extended at most this far (m) to reach reference_m.", low=0.0, high=200.0
    )

    def __post_init__(self) -> None:
        check_settings(self, "lane")
        if not self.min_range_m < self.max_range_m:
            raise ConfigError(
                f"lane range needs min_range_m < max_range_m, got "
                f"{self.min_range_m}..{self.max_range_m}"
            )
        if not self.min_lane_width_m <= self.lane_width_m <= self.max_lane_width_m:
            raise ConfigError(
                "lane widths need min_lane_width_m <= lane_width_m <= max_lane_width_m, "
                f"got {self.min_lane_width_m}, {self.lane_width_m}, {self.max_lane_width_m}"
            )

    def ground_grid(self, resolution: float = 0.2) -> GridSpec:
        """A GridSpec whose extent keeps every point these settings use (for the projector)."""
        return GridSpec(0.0, self.max_range_m, -self.max_lateral_m, self.max_lateral_m, resolution)


@dataclass(frozen=True, eq=False)
class LaneLine:
    """One fitted lane line: y(x) = c0 + c1 x + c2 x^2 over [x_min, x_max].

    points: the polyline, float32 [M, 3] (x, y, 0), every step_m from x_min to x_max;
    point_count: ground points that support it, in `slices` slices; rms_m: the rms lateral
    residual of the slice centroids (point-weighted), i.e. how well the curve fits.
    """

    coefficients: tuple[float, float, float]
    x_min: float
    x_max: float
    points: np.ndarray
    point_count: int
    slices: int
    rms_m: float

    def lateral_at(self, x: np.ndarray | float) -> np.ndarray:
        """y of the fitted curve at x (extrapolated outside [x_min, x_max])."""
        c0, c1, c2 = self.coefficients
        x = np.asarray(x, float)
        return c0 + x * (c1 + x * c2)


def line_confidence(line: LaneLine, settings: LaneSettings) -> float:
    """Confidence in [0, 1] that a lane line lies where its polyline says: its support,
    slices / (slices + min_slices) (1/2 for the fewest slices a line may span, towards 1 the
    further it is seen), times its fit, 1 / (1 + (rms_m / FIT_CONFIDENCE_RMS_M)^2) (1/2 where
    the slice centroids scatter about the curve by a line's width)."""
    support = line.slices / (line.slices + settings.min_slices)
    return float(support / (1.0 + (line.rms_m / FIT_CONFIDENCE_RMS_M) ** 2))


@dataclass(frozen=True, eq=False)
class EgoLane:
    """The ego lane's boundaries and centre line as float32 [M, 3] polylines, None when unseen."""

    left: np.ndarray | None = None
    right: np.ndarray | None = None
    center: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class LaneEstimate:
    """Lane lines of one frame, left to right, and which of them bound the ego lane."""

    lines: tuple[LaneLine, ...] = ()
    left: int | None = None  # index into lines of the ego lane's left boundary
    right: int | None = None
    ego: EgoLane = field(default_factory=EgoLane)


def lanes_from_mask(
    projector: GroundProjector, mask: np.ndarray, settings: LaneSettings = LaneSettings()
) -> LaneEstimate:
    """Lane lines of a bool lane-line mask (the projector's image size) on flat ground."""
    return fit_lanes(projector.ground_points(mask), settings)


def fit_lanes(points: np.ndarray, settings: LaneSettings = LaneSettings()) -> LaneEstimate:
    """Lane lines and ego lane from ground points [N, 2 or 3] (x forward, y left, metres)."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] not in (2, 3):
        raise InputError(f"lane points need shape [N, 2] or [N, 3], got {points.shape}")
    clusters = _slice_clusters(points[:, 0], points[:, 1], settings)
    chain = _chain_clusters(clusters, settings)
    if not chain.size or chain.max() < 0:
        return LaneEstimate()
    chain, coefficients = _merge_chains(clusters, chain, settings)
    lines = _is_line(_support(clusters, chain, coefficients.shape[0]), settings)
    chain = np.where(lines[np.maximum(chain, 0)], chain, -1)
    chain = _attach_small(clusters, chain, coefficients, settings)
    coefficients, chain, rms = _robust_fit(clusters, chain, settings)
    return _ego_lane(_build_lines(clusters, chain, coefficients, rms, settings), settings)


@dataclass(frozen=True)
class _Clusters:
    """Point clusters of all slices, ordered by slice then y."""

    slice: np.ndarray  # int slice index
    x: np.ndarray  # centroid
    y: np.ndarray  # centroid; NaN for clusters too wide or too small to be a line
    count: np.ndarray  # points
    x_min: np.ndarray  # nearest and farthest point
    x_max: np.ndarray


@functools.lru_cache(maxsize=8)
def _slice_table(settings: LaneSettings) -> np.ndarray:
    """Slice index of every _X_STEP_M step of range: slice_m long near the car, then
    geometric (slice_growth * x long) where that is longer."""
    x = np.arange(0.0, settings.max_range_m + _X_STEP_M, _X_STEP_M)
    start, length = settings.min_range_m, settings.slice_m
    near = np.floor((x - start) / length)
    if settings.slice_growth <= 0:
        return np.maximum(near, 0).astype(np.int64)
    count = math.ceil((max(start, length / settings.slice_growth) - start) / length)
    switch = start + count * length
    far = count + np.floor(
        np.log(np.maximum(x, switch) / switch) / math.log1p(settings.slice_growth)
    )
    return np.maximum(np.where(x < switch, near, far), 0).astype(np.int64)


def _slice_clusters(x: np.ndarray, y: np.ndarray, settings: LaneSettings) -> _Clusters:
    """Split the points of every slice at lateral gaps; mark clusters too wide or too small.

    Points are binned (slice, y in cluster_gap_m / _GAP_BINS steps) instead of sorted, so
    the cost is linear in the points; more than _GAP_BINS empty bins in a row split.
    """
    keep = (x >= settings.min_range_m) & (x < settings.max_range_m)  # also drops NaN
    keep &= np.abs(y) <= settings.max_lateral_m
    x, y = x[keep].astype(float), y[keep].astype(float)
    table = _slice_table(settings)
    bin_m = settings.cluster_gap_m / _GAP_BINS
    columns = math.floor(2 * settings.max_lateral_m / bin_m) + 1
    cells = (int(table[-1]) + 1) * columns
    cell = table[(x * (1 / _X_STEP_M)).astype(np.int64)] * columns
    cell += ((y + settings.max_lateral_m) * (1 / bin_m)).astype(np.int64)
    per_cell = np.bincount(cell, minlength=cells)
    occupied = np.flatnonzero(per_cell)
    if occupied.size == 0:
        empty = np.zeros(0)
        return _Clusters(empty.astype(np.int64), empty, empty, empty, empty, empty)
    row, column = np.divmod(occupied, columns)
    starts = np.ones(occupied.size, bool)
    starts[1:] = (row[1:] != row[:-1]) | (np.diff(column) > _GAP_BINS)
    first = np.flatnonzero(starts)
    count = np.add.reduceat(per_cell[occupied], first)
    sum_x = np.add.reduceat(np.bincount(cell, x, cells)[occupied], first)
    sum_y = np.add.reduceat(np.bincount(cell, y, cells)[occupied], first)
    sum_yy = np.add.reduceat(np.bincount(cell, y * y, cells)[occupied], first)
    low, high = _group_range(x, cell, cells)
    mean_y = sum_y / count
    wide = sum_yy / count - mean_y**2 > settings.max_cluster_spread_m**2
    return _Clusters(
        slice=row[first],
        x=sum_x / count,
        y=np.where(wide | (count < settings.min_cluster_points), np.nan, mean_y),
        count=count,
        x_min=np.minimum.reduceat(low[occupied], first),
        x_max=np.maximum.reduceat(high[occupied], first),
    )


def _group_range(x: np.ndarray, group: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest x of every group (group -1: none; inf / -inf when empty)."""
    member = group >= 0
    low = np.full(groups, np.inf)
    high = np.full(groups, -np.inf)
    np.minimum.at(low, group[member], x[member])
    np.maximum.at(high, group[member], x[member])
    return low, high


class _Chain:
    """A line being followed from near to far: its last cluster and local slope."""

    __slots__ = ("base", "history", "slope", "x", "y")

    def __init__(self, x: float, y: float) -> None:
        self.x, self.y, self.slope = x, y, 0.0
        self.history = [(x, y)]
        self.base = 0

    def extend(self, x: float, y: float, window: float) -> None:
        """Append a cluster; the slope spans the clusters within `window` metres behind it,
        or reaches back to the one before them across a gap (a dash gap, an occlusion)."""
        self.history.append((x, y))
        while x - self.history[self.base][0] > window:
            self.base += 1
        base_x, base_y = self.history[self.base]
        if x - base_x < 0.5 * window and self.base > 0:
            base_x, base_y = self.history[self.base - 1]
        if x - base_x >= 0.5 * window:
            self.slope = (y - base_y) / (x - base_x)
        self.x, self.y = x, y


def _tolerance(gap: np.ndarray, settings: LaneSettings) -> np.ndarray:
    """Lateral tolerance for continuing a line across gaps of `gap` metres."""
    return np.minimum(
        settings.link_tolerance_m + settings.link_tolerance_per_m * gap,
        settings.max_link_tolerance_m,
    )


def _chain_clusters(clusters: _Clusters, settings: LaneSettings) -> np.ndarray:
    """Chain id of every cluster (-1: none), linking the seed clusters slice by slice.

    Each slice's clusters of at least min_seed_points go to the active chains greedily,
    closest extrapolation first; a cluster nobody takes starts a new chain, a chain not
    continued for max_gap_m ends.
    """
    chain_of = [-1] * clusters.count.size
    xs, ys, slices = clusters.x.tolist(), clusters.y.tolist(), clusters.slice.tolist()
    seeds = (clusters.count >= settings.min_seed_points).tolist()
    chains: list[_Chain] = []
    active: list[int] = []
    window = 2 * settings.max_gap_m / 3
    base, per_m, cap = (
        settings.link_tolerance_m,
        settings.link_tolerance_per_m,
        settings.max_link_tolerance_m,
    )
    k = 0
    while k < len(xs):
        end = k
        while end < len(xs) and slices[end] == slices[k]:
            end += 1
        members = [i for i in range(k, end) if seeds[i] and ys[i] == ys[i]]  # y NaN: unusable
        k = end
        if not members:
            continue
        here = xs[members[0]]
        active = [c for c in active if here - chains[c].x <= settings.max_gap_m]
        pairs = []
        for c in active:
            chain = chains[c]
            tolerance = min(base + per_m * (here - chain.x), cap)
            for i in members:
                miss = abs(chain.y + chain.slope * (xs[i] - chain.x) - ys[i])
                if miss <= tolerance:
                    pairs.append((miss, c, i))
        pairs.sort()
        taken: set[int] = set()
        for _, c, i in pairs:
            if c not in taken and chain_of[i] < 0:
                taken.add(c)
                chain_of[i] = c
                chains[c].extend(xs[i], ys[i], window)
        for i in members:
            if chain_of[i] < 0:
                chain_of[i] = len(chains)
                active.append(len(chains))
                chains.append(_Chain(xs[i], ys[i]))
    return np.array(chain_of, np.int64)


def _fit(clusters: _Clusters, chain_of: np.ndarray, settings: LaneSettings) -> np.ndarray:
    """Weighted least-squares coefficients [chains, 3] of y(u), u = (x - 20) / 20, per chain.

    Centroid weights follow their noise: more points help (sqrt(count)); the lateral pixel
    footprint grows with range (1/x). Chains spanning under quadratic_min_length_m get a
    straight line, chains spanning under 1 m a constant.
    """
    chains = int(chain_of.max()) + 1 if chain_of.size else 0
    member = chain_of >= 0
    ids = chain_of[member]
    x, y = clusters.x[member], clusters.y[member]
    u = (x - _FIT_SCALE_M) / _FIT_SCALE_M
    values = np.empty((8, x.size))  # w^2 u^k for k = 0..4, then w^2 u^k y for k = 0..2
    values[:5] = (clusters.count[member] / np.maximum(x, 1.0) ** 2) * u ** _POWERS[:, None]
    values[5:] = values[:3] * y
    slots = (ids + chains * np.arange(8)[:, None]).ravel()
    sums = np.bincount(slots, values.ravel(), 8 * chains).reshape(8, chains).T
    low, high = _group_range(x, ids, chains)
    extent = np.where(np.isfinite(low), high - low, 0.0)
    degree = (extent >= 1.0).astype(int) + (extent >= settings.quadratic_min_length_m)
    free = degree[:, None] >= _DIAGONAL  # [chains, 3]: which coefficients each chain fits
    lhs = np.where(free[:, :, None] & free[:, None, :], sums[:, _HANKEL], _EYE) + _RIDGE * _EYE
    rhs = np.where(free, sums[:, 5:], 0.0)
    return np.linalg.solve(lhs, rhs[..., None])[..., 0]


def _evaluate(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y of fits [..., 3] (in u) at x [...]."""
    u = (x - _FIT_SCALE_M) / _FIT_SCALE_M
    return coefficients[..., 0] + u * (coefficients[..., 1] + u * coefficients[..., 2])


def _merge_chains(
    clusters: _Clusters, chain_of: np.ndarray, settings: LaneSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Join chains that continue one another across a gap the chaining did not bridge.

    Chain b continues chain a when it starts after a ends (within merge_gap_m) and each fit,
    extended over the gap, meets the other within the link tolerance; the shortest such gap
    joins first, until nothing joins. Returns the chains and their fits.
    """
    while True:
        coefficients = _fit(clusters, chain_of, settings)
        if coefficients.shape[0] < 2:
            break
        low, high = _group_range(clusters.x, chain_of, coefficients.shape[0])
        gap = low[None, :] - high[:, None]  # [a, b]: from a's far end to b's near end
        with np.errstate(invalid="ignore"):  # empty chains have infinite ends
            a_at_b = _evaluate(coefficients[:, None, :], low[None, :])
            b_at_b = _evaluate(coefficients, low)[None, :]
            b_at_a = _evaluate(coefficients[None, :, :], high[:, None])
            a_at_a = _evaluate(coefficients, high)[:, None]
            miss = np.maximum(np.abs(a_at_b - b_at_b), np.abs(b_at_a - a_at_a))
            joins = (gap >= 0) & (gap <= settings.merge_gap_m) & (miss <= _tolerance(gap, settings))
        np.fill_diagonal(joins, False)
        if not joins.any():
            break
        a, b = np.unravel_index(np.argmin(np.where(joins, gap, np.inf)), gap.shape)
        chain_of = np.where(chain_of == b, a, chain_of)
    return chain_of, coefficients


def _support(
    clusters: _Clusters, chain_of: np.ndarray, chains: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points, slices (one cluster each), nearest and farthest point x of every chain."""
    member = chain_of >= 0
    ids = chain_of[member]
    points = np.bincount(ids, clusters.count[member], chains).astype(np.int64)
    slices = np.bincount(ids, minlength=chains)
    low = _group_range(clusters.x_min, chain_of, chains)[0]
    high = -_group_range(-clusters.x_max, chain_of, chains)[0]
    return points, slices, low, high


def _is_line(
    support: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], settings: LaneSettings
) -> np.ndarray:
    """Whether each chain has the points, slices and length (from _support) of a lane line."""
    points, slices, low, high = support
    good = (points >= settings.min_points) & (slices >= settings.min_slices)
    return good & (high - low >= settings.min_length_m)


def _attach_small(
    clusters: _Clusters, chain_of: np.ndarray, coefficients: np.ndarray, settings: LaneSettings
) -> np.ndarray:
    """Give clusters in no line (too small to seed one, or left in a chain too short to be
    one) to the line whose fit passes nearest: within attach_tolerance_m, at most max_gap_m
    beyond its ends, in a slice it has no cluster in yet."""
    small = np.flatnonzero(np.isfinite(clusters.y) & (chain_of < 0))
    chains = coefficients.shape[0]
    lines = np.unique(chain_of[chain_of >= 0])
    if small.size == 0 or lines.size == 0:
        return chain_of
    x, y, where = clusters.x[small], clusters.y[small], clusters.slice[small]
    low, high = _group_range(clusters.x, chain_of, chains)
    miss = np.abs(y[:, None] - _evaluate(coefficients[lines][None, :, :], x[:, None]))
    near = (x[:, None] >= low[lines] - settings.max_gap_m) & (
        x[:, None] <= high[lines] + settings.max_gap_m
    )
    slots = int(clusters.slice.max()) + 1
    taken = np.zeros(chains * slots, bool)
    member = chain_of >= 0
    taken[chain_of[member] * slots + clusters.slice[member]] = True
    key = lines[None, :] * slots + where[:, None]
    miss = np.where(near & ~taken[key] & (miss <= settings.attach_tolerance_m), miss, np.inf)
    best = np.argmin(miss, axis=1)
    ok = np.isfinite(miss[np.arange(small.size), best])
    small, best, key = small[ok], best[ok], key[ok, best[ok]]
    order = np.argsort(miss[ok, best], kind="stable")  # one cluster per (line, slice): nearest
    _, first = np.unique(key[order], return_index=True)
    chosen = order[first]
    chain_of = chain_of.copy()
    chain_of[small[chosen]] = lines[best[chosen]]
    return chain_of


def _robust_fit(
    clusters: _Clusters, chain_of: np.ndarray, settings: LaneSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit, reject centroids far off their chain's fit, refit (fit_iterations rounds).

    Returns the fits, the chain of each cluster (-1 for rejected ones) and each chain's
    count-weighted rms residual of its centroids.
    """
    coefficients = _fit(clusters, chain_of, settings)
    for round_ in range(settings.fit_iterations + 1):
        member = np.flatnonzero(chain_of >= 0)
        ids = chain_of[member]
        residual = clusters.y[member] - _evaluate(coefficients[ids], clusters.x[member])
        weight = clusters.count[member].astype(float)
        chains = coefficients.shape[0]
        total = np.maximum(np.bincount(ids, weight, chains), 1.0)
        rms = np.sqrt(np.bincount(ids, weight * residual**2, chains) / total)
        floor = settings.outlier_floor_m + settings.outlier_floor_per_m * clusters.x[member]
        limit = np.maximum(settings.outlier_sigma * rms[ids], floor)
        outliers = member[np.abs(residual) > limit]
        if outliers.size == 0 or round_ == settings.fit_iterations:
            break
        chain_of = chain_of.copy()
        chain_of[outliers] = -1
        coefficients = _fit(clusters, chain_of, settings)
    return coefficients, chain_of, rms


def _build_lines(
    clusters: _Clusters,
    chain_of: np.ndarray,
    coefficients: np.ndarray,
    rms: np.ndarray,
    settings: LaneSettings,
) -> list[LaneLine]:
    """LaneLine of every chain with enough points, slices and length."""
    support = _support(clusters, chain_of, coefficients.shape[0])
    counts, slices, low, high = support
    lines = []
    s = _FIT_SCALE_M
    for c in np.flatnonzero(_is_line(support, settings)):
        a0, a1, a2 = coefficients[c] / [1.0, s, s * s]  # y = a0 + a1 (x - s) + a2 (x - s)^2
        xs = _samples(float(low[c]), float(high[c]), settings.step_m)
        points = np.zeros((xs.size, 3), np.float32)
        points[:, 0] = xs
        points[:, 1] = a0 + (xs - s) * (a1 + (xs - s) * a2)
        poly = (float(a0 - a1 * s + a2 * s * s), float(a1 - 2 * a2 * s), float(a2))
        extent = float(xs[0]), float(xs[-1])
        lines.append(LaneLine(poly, *extent, points, int(counts[c]), int(slices[c]), float(rms[c])))
    return lines


def _samples(x_min: float, x_max: float, step: float) -> np.ndarray:
    """x_min, x_min + step, ... and x_max itself."""
    xs = np.arange(x_min, x_max, step)
    return np.append(xs[xs < x_max - 1e-6], x_max)


def _ego_lane(lines: list[LaneLine], settings: LaneSettings) -> LaneEstimate:
    """Order lines left to right and pick the ego lane's boundaries at the reference distance.

    Candidates reach the reference distance (within max_extrapolation_m) and lie within
    max_boundary_offset_m of the car's path, left (y >= 0) or right. The boundaries are the
    left/right pair of plausible width nearest to lane_width_m; without one, a single
    boundary: the candidate seen in the most slices.
    """
    ref, reach = settings.reference_m, settings.max_extrapolation_m
    lines = sorted(lines, key=lambda line: -_at(line, min(max(ref, line.x_min), line.x_max)))
    at_ref = [_at(line, ref) for line in lines]
    candidates = [
        i
        for i, line in enumerate(lines)
        if line.x_min - reach <= ref <= line.x_max + reach
        and abs(at_ref[i]) <= settings.max_boundary_offset_m
    ]
    lefts = [i for i in candidates if at_ref[i] >= 0]
    rights = [i for i in candidates if at_ref[i] < 0]
    pairs = [
        (abs(at_ref[a] - at_ref[b] - settings.lane_width_m), a, b)
        for a in lefts
        for b in rights
        if settings.min_lane_width_m <= at_ref[a] - at_ref[b] <= settings.max_lane_width_m
    ]
    left = right = None
    if pairs:
        _, left, right = min(pairs)
    elif candidates:
        best = max(candidates, key=lambda i: (lines[i].slices, lines[i].point_count))
        left, right = (best, None) if at_ref[best] >= 0 else (None, best)
    left_line = None if left is None else lines[left]
    right_line = None if right is None else lines[right]
    ego = EgoLane(
        left=None if left_line is None else left_line.points,
        right=None if right_line is None else right_line.points,
        center=None
        if left_line is None or right_line is None
        else _centre(left_line, right_line, settings),
    )
    return LaneEstimate(tuple(lines), left, right, ego)


def _at(line: LaneLine, x: float) -> float:
    """y of a line at one x, in plain floats."""
    c0, c1, c2 = line.coefficients
    return c0 + x * (c1 + x * c2)


def _centre(left: LaneLine, right: LaneLine, settings: LaneSettings) -> np.ndarray | None:
    """Mean of two boundaries over the x range both cover, or None when they do not overlap."""
    x_min, x_max = max(left.x_min, right.x_min), min(left.x_max, right.x_max)
    if x_max <= x_min:
        return None
    xs = _samples(x_min, x_max, settings.step_m)
    points = np.zeros((xs.size, 3), np.float32)
    points[:, 0] = xs
    points[:, 1] = 0.5 * (left.lateral_at(xs) + right.lateral_at(xs))
    return points
