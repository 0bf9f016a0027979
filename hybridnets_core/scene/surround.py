"""One grid around the vehicle from every camera's ground grid: each cell from the nearest camera
that sees it, unseen by all stays unseen.

Every camera's grid must share one GridSpec in one frame (grid_frame). The nearest camera is the
one whose foot point (its position on the ground) is closest to the cell: its pixels cover the
cell most finely, as ground resolution falls with the square of the range. The cameras' order
for each cell depends only on the grid and their positions, so it is computed once and reused
while neither changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from .ground import UNSEEN, GridSpec


class SurroundGrid:
    """Merges several cameras' occupancy grids (int8: 0 drivable, 100 not, -1 unseen)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._order = np.zeros((0, 0, 0), dtype=np.intp)

    def merge(
        self, grids: Sequence[np.ndarray], positions: Sequence[Sequence[float]], grid: GridSpec
    ) -> np.ndarray:
        """The surround grid [height, width] of `grids` (one per camera, each [height, width]
        of `grid`) seen from the cameras at `positions` ((x, y) in the grid's frame, m)."""
        if not len(grids) or len(grids) != len(positions):
            raise InputError(
                f"surround grid needs one position per camera grid, got {len(grids)} grids "
                f"and {len(positions)} positions"
            )
        shape = (grid.height, grid.width)
        bad = [np.shape(g) for g in grids if np.shape(g) != shape]
        if bad:
            raise InputError(f"camera grids must all be {shape} (the grid spec), got {bad[0]}")
        if len(grids) == 1:
            return np.asarray(grids[0], dtype=np.int8).copy()
        order = self._nearest_first(positions, grid)
        by_nearness = np.take_along_axis(np.stack(grids).astype(np.int8), order, axis=0)
        first_seen = np.argmax(by_nearness != UNSEEN, axis=0)  # 0 where none sees the cell
        return np.take_along_axis(by_nearness, first_seen[None], axis=0)[0]

    def _nearest_first(self, positions: Sequence[Sequence[float]], grid: GridSpec) -> np.ndarray:
        """[cameras, height, width]: camera indices ordered by distance to each cell."""
        feet = tuple((float(p[0]), float(p[1])) for p in positions)
        key = (feet, grid)
        if key != self._key:
            xs, ys = grid.cell_centres()
            distance = np.stack([np.hypot(xs - x, ys - y) for x, y in feet])
            self._order, self._key = np.argsort(distance, axis=0, kind="stable"), key
        return self._order
