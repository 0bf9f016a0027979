"""Scoring a replay's ground grid and the local map fused from it against a synthetic drive's
true drivable area.

The true grid of a frame is the true drivable mask projected by the same camera model, pose and
grid as the predicted one: what a perfect segmentation gives. `grid.iou`: drivable cells'
intersection over union, summed over frames, over the cells both grids see. `local_map.iou`:
the predicted grids and the true grids are each fused into a LocalMap in odom with the true ego
pose at each stamp (from the bag's TF or odometry); at the end of the drive, the drivable cells'
IoU over the cells both maps hold evidence for (drivable: log-odds below 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..scene.ego_motion import EgoPose
from ..scene.ground import DRIVABLE, UNSEEN, CachedProjector, CameraPose
from ..scene.local_map import LocalMap, LocalMapSettings
from ..serving.session import SessionFrame


def _iou(intersection: int, union: int) -> float | None:
    return intersection / union if union else None


class GroundMetrics:
    """grid.iou and local_map.iou of one replay."""

    def __init__(self, camera_pose: CameraPose, settings: LocalMapSettings | None = None) -> None:
        self.camera_pose = camera_pose
        self._projectors = CachedProjector()
        self.intersection = self.union = self.frames = 0
        self.predicted_map = LocalMap(settings)
        self.true_map = LocalMap(settings)
        self.fused = 0

    def update(self, replayed: SessionFrame, drivable: np.ndarray, pose: EgoPose | None) -> None:
        """Add one frame's ground grid against the true drivable mask (bool [H, W] of the
        source image); fuse both into their maps when the ego pose is known."""
        predicted, grid = replayed.occupancy, replayed.grid
        if predicted is None or grid is None or replayed.camera is None:
            return
        projector, _ = self._projectors.get(replayed.camera, drivable.shape, self.camera_pose, grid)
        truth = projector.occupancy(drivable)
        seen = (predicted != UNSEEN) & (truth != UNSEEN)
        ours, true = predicted == DRIVABLE, truth == DRIVABLE
        self.intersection += int((seen & ours & true).sum())
        self.union += int((seen & (ours | true)).sum())
        self.frames += 1
        if pose is not None:
            self.predicted_map.fuse(pose, replayed.stamp, predicted, grid, replayed.scene.objects)
            self.true_map.fuse(pose, replayed.stamp, truth, grid)
            self.fused += 1

    def summary(self) -> dict[str, Any]:
        """The report's grid and local_map keys."""
        ours, true = self.predicted_map.log_odds, self.true_map.log_odds
        seen = (ours != 0) & (true != 0)
        ours_free, true_free = ours < 0, true < 0
        intersection = int((seen & ours_free & true_free).sum())
        union = int((seen & (ours_free | true_free)).sum())
        return {
            "grid": {"iou": _iou(self.intersection, self.union), "frames": self.frames},
            "local_map": {
                "iou": _iou(intersection, union) if self.fused else None,
                "frames": self.fused,
                "cells": int(seen.sum()) if self.fused else 0,
            },
        }
