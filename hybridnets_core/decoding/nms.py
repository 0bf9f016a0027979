"""Exact greedy non-maximum suppression (no torchvision), fast for tens of thousands of boxes.

Greedy NMS visits boxes by score (descending; equal scores by lower index) and keeps a box
unless an already kept box of the same class overlaps it with IoU > threshold. Boxes are
decided in score-ordered chunks: a chunk drops what an earlier kept box overlaps, then
settles its own conflicts by iterating "keep j unless a kept i before j overlaps it" to its
fixed point, which is the sequential answer. While few boxes are kept the overlaps are tested
densely (so a small `max_output` stops early); once SPARSE_AFTER boxes are kept, the rest
use the overlap graph, whose pairs come from a size-and-position grid (two boxes can only
reach IoU > t when widths and heights are within a factor 1/t and centres closer than (1 - t)
times the larger width / height). Overlap tests run without dividing, in the boxes' float type
(float32 rounding is far inside the grid's margin); boxes with zero or negative width or
height (or non-finite corners) overlap nothing.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .boxes import intersection_union

# The grid is built for a threshold this much (relative) lower than asked, so rounding can
# never hide a pair whose IoU exceeds the threshold.
INDEX_MARGIN = 1e-4
NARROWEST_BAND = 0.05  # least log-size ratio a band pair covers (thresholds near 1)
BAND_SPLIT = 2  # size bands per factor 1/t: finer bands prune more, cost more bucket pairs
SIZE_RANGE = 2.0**20  # sizes below the largest / SIZE_RANGE share the smallest band
GRID_CELLS = 4096  # cells are at least the boxes' extent / GRID_CELLS ...
CELLS_PER_BOX = 16  # ... and coarser when the cells would outnumber the boxes this much
MIN_CELL_BUDGET = 65536
CELL_SPLIT = 1  # grid cells per reach: finer cells prune more, file more copies
CHUNK = 512  # boxes settled together
SPARSE_AFTER = 1024  # kept boxes after which the overlap graph is cheaper than dense tests


def _expand_ranges(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All positions of the ranges [start, stop) and, for each, the number of its range."""
    lengths = np.maximum(stops - starts, 0)
    owner = np.repeat(np.arange(len(lengths)), lengths)
    offsets = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return starts[owner] + offsets, owner


class _OverlapGraph:
    """All same-class pairs of score-ranked boxes with IoU > t, found through a grid.

    Boxes are filed by (class, width band, height band): a band spans a factor t ** (1 / 2) in
    size, so boxes that can overlap by more than t lie at most two bands apart. Each band
    pair gets a grid of centre cells sized (1 - t) times its largest size, the most two such
    centres can differ by; a box checks only the cells its reach covers in the bands at or
    after its own, so every pair is tested once.
    """

    def __init__(self, boxes: np.ndarray, groups: np.ndarray, iou_threshold: float) -> None:
        self.reach = 1 - iou_threshold * (1 - INDEX_MARGIN)
        self.dtype = boxes.dtype
        x1, y1, x2, y2 = boxes.astype(np.float64).T
        width, height = x2 - x1, y2 - y1
        with np.errstate(invalid="ignore"):
            valid = (width > 0) & (height > 0) & np.isfinite(boxes).all(axis=1)
        self.ranks = np.flatnonzero(valid)
        self.corners = tuple(np.ascontiguousarray(boxes[self.ranks, k]) for k in range(4))
        self.areas = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[self.ranks]
        width, height = width[self.ranks], height[self.ranks]
        centre_x = (x1 + x2)[self.ranks] / 2
        centre_y = (y1 + y2)[self.ranks] / 2
        self.centre_x, self.centre_y = centre_x - centre_x.min(), centre_y - centre_y.min()
        self.extent = np.array([self.centre_x.max(), self.centre_y.max()])
        ratio = -np.log(iou_threshold * (1 - INDEX_MARGIN))
        self.band_width = max(ratio, NARROWEST_BAND) / BAND_SPLIT
        smallest = max(width.max(), height.max()) / SIZE_RANGE
        self.lowest = int(np.floor(np.log(smallest) / self.band_width))
        band_w = self._band(width)
        band_h = self._band(height)
        self.bands = int(max(band_w.max(), band_h.max())) + 1
        group = np.unique(groups[self.ranks], return_inverse=True)[1].reshape(-1)
        code = (group * self.bands + band_w) * self.bands + band_h
        self.buckets, self.bucket = np.unique(code, return_inverse=True)
        self.bucket = self.bucket.reshape(-1)
        self.size_w, self.size_h = width, height
        self._layout()

    def _band(self, size: np.ndarray) -> np.ndarray:
        """Size band, counted from the smallest band kept (smaller sizes join it)."""
        band = np.floor(np.log(size) / self.band_width).astype(np.int64) - self.lowest
        return np.maximum(band, 0)

    def _largest(self, band: np.ndarray) -> np.ndarray:
        """Upper size limit of a band."""
        return np.exp(self.band_width * (band + self.lowest + 1))

    def _layout(self) -> None:
        """Cell sizes and counts per bucket (coarsened to stay within the cell budget), and the
        boxes filed by cell: each box under its own row and the rows above and below, so one
        row of cells answers a query whose vertical reach is at most a cell."""
        self.bucket_band_w = self.buckets // self.bands % self.bands
        self.bucket_band_h = self.buckets % self.bands
        largest = np.stack([self._largest(self.bucket_band_w), self._largest(self.bucket_band_h)])
        ideal = self.reach * largest.T / CELL_SPLIT
        floor = max(self.extent.max(), 1e-12) / GRID_CELLS
        budget = CELLS_PER_BOX * len(self.ranks) + MIN_CELL_BUDGET
        while True:
            self.cell = np.maximum(ideal, floor)
            self.shape = np.floor(self.extent / self.cell).astype(np.int64) + 1
            cells = self.shape.prod(axis=1)
            if cells.sum() <= budget:
                break
            floor *= 2
        self.base = np.concatenate([[0], np.cumsum(cells)])
        self.cell_w, self.cell_h = np.ascontiguousarray(self.cell.T)
        self.columns, self.rows = np.ascontiguousarray(self.shape.T)
        self.largest_w = self._largest(self.bucket_band_w)
        column = self._column(self.centre_x, self.bucket)
        row = self._row(self.centre_y, self.bucket)
        copies = 2 * CELL_SPLIT + 1
        box = np.repeat(np.arange(len(self.ranks)), copies)
        row = np.repeat(row, copies) + np.tile(
            np.arange(-CELL_SPLIT, CELL_SPLIT + 1), len(self.ranks)
        )
        inside = (row >= 0) & (row < self.rows[self.bucket[box]])
        box, row = box[inside], row[inside]
        bucket = self.bucket[box]
        cell_id = self.base[bucket] + row * self.columns[bucket] + column[box]
        order = np.argsort(cell_id, kind="stable")
        self.filed = box[order]
        self.cell_start = np.searchsorted(cell_id[order], np.arange(self.base[-1] + 1))

    def _column(self, x: np.ndarray, bucket: np.ndarray) -> np.ndarray:
        """Column of a bucket's grid holding x, clipped to the grid (x < 0: column 0)."""
        column = (x / self.cell_w[bucket]).astype(np.int64)
        return np.minimum(np.maximum(column, 0), self.columns[bucket] - 1)

    def _row(self, y: np.ndarray, bucket: np.ndarray) -> np.ndarray:
        """Row of a bucket's grid holding y (y >= 0), clipped to the grid."""
        return np.minimum((y / self.cell_h[bucket]).astype(np.int64), self.rows[bucket] - 1)

    def _forward_neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """Bucket pairs (a, b) of one class at most BAND_SPLIT bands apart, each pair once,
        oriented so that b's height band is not below a's."""
        steps = np.arange(-BAND_SPLIT, BAND_SPLIT + 1)
        dw, dh = (offset.ravel() for offset in np.meshgrid(steps, np.arange(BAND_SPLIT + 1)))
        target_w = self.bucket_band_w[:, None] + dw
        target_h = self.bucket_band_h[:, None] + dh
        inside = (target_w >= 0) & (target_w < self.bands) & (target_h < self.bands)
        group = self.buckets // (self.bands * self.bands)
        code = (group[:, None] * self.bands + target_w) * self.bands + target_h
        slot = np.minimum(np.searchsorted(self.buckets, code), len(self.buckets) - 1)
        found = inside & (self.buckets[slot] == code) & ((dh > 0) | (dw >= 0))
        source, _ = np.nonzero(found)
        return source, slot[found]

    def edges(self, iou_threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """All pairs (earlier rank, later rank) of boxes with IoU > iou_threshold."""
        source, target = self._forward_neighbours()
        first_pair = np.searchsorted(source, np.arange(len(self.buckets) + 1))
        pair, box = _expand_ranges(first_pair[self.bucket], first_pair[self.bucket + 1])
        target = target[pair]
        reach_x = self.reach * np.maximum(self.size_w[box], self.largest_w[target])
        x = self.centre_x[box]
        first = self.base[target] + self._row(self.centre_y[box], target) * self.columns[target]
        start = self.cell_start[first + self._column(x - reach_x, target)]
        stop = self.cell_start[first + self._column(x + reach_x, target) + 1]
        position, owner = _expand_ranges(start, stop)
        this, other = box[owner], self.filed[position]
        distinct = (target[owner] != self.bucket[this]) | (other > this)
        this, other = this[distinct], other[distinct]
        overlapping = self._overlap(this, other, iou_threshold)
        this, other = self.ranks[this[overlapping]], self.ranks[other[overlapping]]
        return np.minimum(this, other), np.maximum(this, other)

    def _overlap(self, first: np.ndarray, second: np.ndarray, iou_threshold: float):
        """Per pair: IoU > iou_threshold, as `_pairwise_overlaps` computes it. Pairs whose
        widths overlap by less than t times the wider box (less the margin) go first."""
        x1, y1, x2, y2 = self.corners
        inter_w = np.minimum(x2[first], x2[second]) - np.maximum(x1[first], x1[second])
        wider = np.maximum(x2[first] - x1[first], x2[second] - x1[second])
        wide = inter_w > iou_threshold * (1 - INDEX_MARGIN) * wider
        pairs = np.flatnonzero(wide)
        first, second, inter_w = first[pairs], second[pairs], inter_w[pairs]
        inter_h = np.minimum(y2[first], y2[second]) - np.maximum(y1[first], y1[second])
        inter = inter_w * np.maximum(inter_h, 0)
        union = self.areas[first] + self.areas[second] - inter
        wide[pairs] = inter > iou_threshold * union
        return wide


def _settle_chunk(overlaps: np.ndarray) -> np.ndarray:
    """Greedy keep-mask of score-ordered boxes that no earlier kept box overlaps: box j goes
    when a kept box i < j overlaps it (overlaps [n, n], upper triangle used). Iterated to its
    fixed point, which is unique and equals the sequential answer."""
    later = np.triu(overlaps, k=1)
    keep = np.ones(len(overlaps), dtype=bool)
    while True:
        updated = ~(later & keep[:, None]).any(axis=0)
        if np.array_equal(updated, keep):
            return keep
        keep = updated


def _pairwise_overlaps(a: np.ndarray, b: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Boolean [len(a), len(b)]: IoU > iou_threshold, without dividing; boxes with no area
    overlap nothing."""
    inter, union = intersection_union(a, b)
    return (inter > iou_threshold * union) & (inter > 0)


def _settle_dense(
    ranked: np.ndarray,
    groups: np.ndarray,
    keep: np.ndarray,
    start: int,
    stop: int,
    iou_threshold: float,
) -> None:
    """Decide boxes start..stop-1: drop those a kept earlier box overlaps, settle the rest
    among themselves; dense pairwise tests (cheap while few boxes are kept)."""
    chunk, chunk_groups = ranked[start:stop], groups[start:stop]
    kept = np.flatnonzero(keep[:start])
    outside = _pairwise_overlaps(ranked[kept], chunk, iou_threshold)
    alive = np.flatnonzero(~(outside & (groups[kept][:, None] == chunk_groups[None, :])).any(0))
    inside = _pairwise_overlaps(chunk[alive], chunk[alive], iou_threshold)
    inside &= chunk_groups[alive][:, None] == chunk_groups[alive][None, :]
    keep[start + alive] = _settle_chunk(inside)


def _settle_sparse(
    ranked: np.ndarray,
    groups: np.ndarray,
    keep: np.ndarray,
    start: int,
    limit: int,
    iou_threshold: float,
) -> None:
    """Decide boxes start.. through the overlap graph of them and the boxes kept before."""
    members = np.concatenate([np.flatnonzero(keep[:start]), np.arange(start, len(ranked))])
    graph = _OverlapGraph(ranked[members], groups[members], iou_threshold)
    earlier, later = (members[side] for side in graph.edges(iou_threshold))
    by_later = np.argsort(later, kind="stable")
    earlier, later = earlier[by_later], later[by_later]
    for begin in range(start, len(ranked), CHUNK):
        if keep.sum() >= limit:
            return
        stop = min(begin + CHUNK, len(ranked))
        span = slice(*np.searchsorted(later, [begin, stop]))
        src, dst = earlier[span], later[span] - begin
        outside = src < begin
        killed = np.zeros(stop - begin, dtype=bool)
        killed[dst[outside & keep[src]]] = True
        alive = np.flatnonzero(~killed)
        slot = np.full(stop - begin, -1)
        slot[alive] = np.arange(len(alive))
        src, dst = slot[src[~outside] - begin], slot[dst[~outside]]
        inside = np.zeros((len(alive),) * 2, dtype=bool)
        both = (src >= 0) & (dst >= 0)
        inside[src[both], dst[both]] = True
        keep[begin + alive] = _settle_chunk(inside)


def _greedy(
    boxes: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray,
    iou_threshold: float,
    max_output: int | None,
) -> np.ndarray:
    """Indices kept by greedy NMS within each group, in global score order, at most max_output.

    Chunks are settled by dense tests while fewer than SPARSE_AFTER boxes are kept, then the
    rest through the overlap graph."""
    if not iou_threshold > 0:
        raise ConfigError(f"NMS iou_threshold must be > 0 (got {iou_threshold}); use e.g. 0.6")
    order = np.argsort(-scores, kind="stable")
    limit = len(order) if max_output is None else max(int(max_output), 0)
    if iou_threshold >= 1:  # IoU never exceeds 1: nothing is suppressed
        return order[:limit]
    ranked = boxes[order]
    if ranked.dtype not in (np.float32, np.float64):
        ranked = ranked.astype(np.float64)
    groups = np.asarray(groups)[order]
    keep = np.zeros(len(order), dtype=bool)
    start = 0
    while start < len(order) and keep.sum() < min(limit, SPARSE_AFTER):
        stop = min(start + CHUNK, len(order))
        _settle_dense(ranked, groups, keep, start, stop, iou_threshold)
        start = stop
    if start < len(order) and keep.sum() < limit:
        _settle_sparse(ranked, groups, keep, start, limit, iou_threshold)
    return order[np.flatnonzero(keep)[:limit]]


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
    max_output: int | None = None,
) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, highest score first (ties: lower index)."""
    return _greedy(boxes, scores, np.zeros(len(boxes), np.int64), iou_threshold, max_output)


def batched_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    iou_threshold: float,
    max_output: int | None = None,
) -> np.ndarray:
    """Class-wise NMS: boxes of different classes never suppress each other. Kept indices in
    score order over all classes; `max_output` caps that list."""
    return _greedy(boxes, scores, np.asarray(class_ids), iou_threshold, max_output)
