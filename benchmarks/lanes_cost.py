"""Per-frame cost and accuracy of lane fitting on lane masks of synthetic drive frames.

Cost: for one frame of each of `--drives` drives, the true lane-line mask at each mask size,
GroundProjector.ground_points on it (the projector the node already runs) and fit_lanes on
those points, each timed over repeats on one core. Reports the median and the minimum (the
best estimate on a shared machine) of wall time and the median CPU time, with line and point
counts. Accuracy: the ego-lane metrics (evaluation.lanes) of `--frames-per-drive` frames per
drive against the drive's ground truth. Writes JSON.

  python benchmarks/lanes_cost.py --drives 8 --mask-sizes 1280x720 640x360
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from machine import machine_info

from hybridnets_core.bag.drive import SyntheticDrive
from hybridnets_core.evaluation.lanes import LaneAccumulator
from hybridnets_core.fileio import write_json
from hybridnets_core.scene.ground import CameraPose, GroundProjector
from hybridnets_core.scene.lanes import LaneSettings, fit_lanes, lanes_from_mask

RENDER_SIZE = (1280, 720)
FPS = 10.0


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (W, H)."""
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def timings(work: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median and minimum wall and CPU milliseconds of one call."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        work()
        cpu.append((time.process_time() - c) * 1e3)
        wall.append((time.perf_counter() - w) * 1e3)
    return {
        "wall_median_ms": round(statistics.median(wall), 4),
        "wall_min_ms": round(min(wall), 4),
        "cpu_median_ms": round(statistics.median(cpu), 4),
    }


def lane_mask(lane: np.ndarray, mask_size: tuple[int, int]) -> np.ndarray:
    """The rendered 0/255 lane label as a bool mask of mask_size (W, H)."""
    return cv2.resize(lane, mask_size, interpolation=cv2.INTER_NEAREST) > 0


def projector_for(drive: SyntheticDrive, mask_size: tuple[int, int]) -> GroundProjector:
    """The node's projector (default pose) for masks of mask_size, over the lane range."""
    intrinsics = drive.intrinsics.scaled_to(*mask_size)
    return GroundProjector(intrinsics, CameraPose(), LaneSettings().ground_grid())


def frame_cost(
    drive: SyntheticDrive, index: int, mask_size: tuple[int, int], repeats: int
) -> dict[str, Any]:
    """Timings and sizes of ground_points and fit_lanes on one frame's lane mask."""
    settings = LaneSettings()
    mask = lane_mask(drive.render(index).lane, mask_size)
    projector = projector_for(drive, mask_size)
    points = projector.ground_points(mask)
    estimate = fit_lanes(points, settings)
    return {
        "seed": drive.seed,
        "frame": index,
        "mask_pixels": int(np.count_nonzero(mask)),
        "ground_points": len(points),
        "lines": len(estimate.lines),
        "ego_boundaries": int(estimate.left is not None) + int(estimate.right is not None),
        "ground_points_cost": timings(lambda: projector.ground_points(mask), repeats),
        "fit_lanes_cost": timings(lambda: fit_lanes(points, settings), repeats),
    }


def accuracy(
    drives: list[SyntheticDrive], mask_size: tuple[int, int], frames: int
) -> dict[str, Any]:
    """Ego-lane metrics of `frames` frames (1.5 s apart) per drive against its truth."""
    metrics = LaneAccumulator()
    for drive in drives:
        projector = projector_for(drive, mask_size)
        for index in range(0, 15 * frames, 15):
            scene, truth = drive.render_with_truth(index)
            estimate = lanes_from_mask(projector, lane_mask(scene.lane, mask_size))
            metrics.update(estimate.ego, truth.lanes.ego())
    return metrics.summary()


def summary(frames: list[dict[str, Any]], stage: str) -> dict[str, float]:
    """Median over frames of each timing of a stage."""
    keys = frames[0][stage].keys()
    return {key: round(statistics.median(f[stage][key] for f in frames), 4) for key in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drives", type=int, default=8, help="synthetic drives (seeds 0..n-1)")
    parser.add_argument("--frames-per-drive", type=int, default=4, help="for the accuracy")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--mask-sizes", type=parse_size, nargs="+", default=[RENDER_SIZE])
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/lanes_cost.json"))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    drives = [SyntheticDrive(seed, RENDER_SIZE, FPS) for seed in range(args.drives)]
    results = {}
    for mask_size in args.mask_sizes:
        frames = [frame_cost(drive, 10 * drive.seed, mask_size, args.repeats) for drive in drives]
        name = f"{mask_size[0]}x{mask_size[1]}"
        results[name] = {
            "ground_points": summary(frames, "ground_points_cost"),
            "fit_lanes": summary(frames, "fit_lanes_cost"),
            "median_points": statistics.median(f["ground_points"] for f in frames),
            "accuracy_true_mask": accuracy(drives, mask_size, args.frames_per_drive),
            "frames": frames,
        }
        fit, ground = results[name]["fit_lanes"], results[name]["ground_points"]
        errors = results[name]["accuracy_true_mask"]["lateral_error_m"]
        print(
            f"{name}: fit_lanes {fit['wall_median_ms']:.3f} ms median "
            f"({fit['wall_min_ms']:.3f} min), ground_points {ground['wall_median_ms']:.3f} ms "
            f"median ({ground['wall_min_ms']:.3f} min), "
            f"{results[name]['median_points']:.0f} points; ego-lane lateral error (m) {errors}"
        )
    write_json(
        args.json,
        {
            "render_size": list(RENDER_SIZE),
            "repeats": args.repeats,
            "cores": 1,
            "results": results,
            "machine": machine_info(),
        },
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
