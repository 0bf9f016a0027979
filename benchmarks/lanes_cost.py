"""Per-frame cost of lane fitting on realistic lane masks from synthetic drive frames.

For each frame: the true lane-line mask at the requested mask size, GroundProjector.ground_points
on it (the projector the node already runs), and fit_lanes on those points, each timed over
repeats on one core. Reports the median and the minimum (the best estimate on a shared machine)
of wall and CPU time, plus the line and point counts. Writes JSON.

  python benchmarks/lanes_cost.py --frames 8 --mask-sizes 1280x720 640x360
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hybridnets_core.bag.drive import SyntheticDrive
from hybridnets_core.fileio import write_json
from hybridnets_core.ground import CameraPose, GroundProjector
from hybridnets_core.lanes import LaneSettings, fit_lanes

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


def frame_cost(
    drive: SyntheticDrive, index: int, mask_size: tuple[int, int], repeats: int
) -> dict[str, Any]:
    """Timings and sizes of ground_points and fit_lanes on one frame's lane mask."""
    settings = LaneSettings()
    scene = drive.render(index)
    mask = cv2.resize(scene.lane, mask_size, interpolation=cv2.INTER_NEAREST) > 0
    intrinsics = drive.intrinsics.scaled_to(*mask_size)
    projector = GroundProjector(intrinsics, CameraPose(), settings.ground_grid())
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


def summary(frames: list[dict[str, Any]], stage: str) -> dict[str, float]:
    """Median over frames of each timing of a stage."""
    keys = frames[0][stage].keys()
    return {key: round(statistics.median(f[stage][key] for f in frames), 4) for key in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8, help="drive frames (seeds 0..n-1)")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--mask-sizes", type=parse_size, nargs="+", default=[RENDER_SIZE])
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/lanes_cost.json"))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    results = {}
    for mask_size in args.mask_sizes:
        frames = [
            frame_cost(SyntheticDrive(seed, RENDER_SIZE, FPS), 10 * seed, mask_size, args.repeats)
            for seed in range(args.frames)
        ]
        name = f"{mask_size[0]}x{mask_size[1]}"
        results[name] = {
            "ground_points": summary(frames, "ground_points_cost"),
            "fit_lanes": summary(frames, "fit_lanes_cost"),
            "median_points": statistics.median(f["ground_points"] for f in frames),
            "frames": frames,
        }
        fit, ground = results[name]["fit_lanes"], results[name]["ground_points"]
        print(
            f"{name}: fit_lanes {fit['wall_median_ms']:.3f} ms median "
            f"({fit['wall_min_ms']:.3f} min), ground_points {ground['wall_median_ms']:.3f} ms "
            f"median ({ground['wall_min_ms']:.3f} min), "
            f"{results[name]['median_points']:.0f} points"
        )
    write_json(
        args.json,
        {
            "render_size": list(RENDER_SIZE),
            "repeats": args.repeats,
            "cores": 1,
            "results": results,
            "load_average_1min": round(os.getloadavg()[0], 2),
            "cpu": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
        },
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
