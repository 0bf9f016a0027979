"""Per-frame cost of locate_objects on one core: 20 detections at 1280x720, each camera model.

The budget for objects + tracking + lanes together is 3 ms per frame; this is the objects part.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from machine import machine_info

from hybridnets_core.fileio import write_json
from hybridnets_core.scene.camera import CameraModel
from hybridnets_core.scene.ground import CameraPose, GridSpec
from hybridnets_core.scene.objects import locate_objects

K = [1000.0, 0.0, 639.5, 0.0, 1000.0, 359.5, 0.0, 0.0, 1.0]
P = [950.0, 0.0, 640.0, 0.0, 0.0, 950.0, 360.0, 0.0, 0.0, 0.0, 1.0, 0.0]
CAMERAS = {
    "rectified": ([], "", True),
    "plumb_bob": ([-0.25, 0.06, 0.0008, -0.0006, 0.0], "plumb_bob", False),
    "rational_polynomial": (
        [0.1, -0.02, 0.0005, 0.0002, 0.0, 0.3, -0.01, 0.0],
        "rational_polynomial",
        False,
    ),
    "equidistant": ([0.04, -0.01, 0.002, -0.0005], "equidistant", False),
}
NAMES = ["car", "truck", "bus", "person"]


def pin_to_one_core() -> None:
    """Run on a single CPU so the figure means 'per core'."""
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def frames_of_boxes(
    count: int, objects: int, size: tuple[int, int]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random road-user boxes standing below the horizon, as the detector reports them."""
    rng = np.random.default_rng(0)
    width, height = size
    frames = []
    for _ in range(count):
        bottom = rng.uniform(height * 0.52, height, objects)
        box_w = rng.uniform(20, 300, objects)
        left = rng.uniform(0, width - box_w)
        top = bottom - box_w * rng.uniform(0.6, 1.5, objects)
        boxes = np.column_stack([left, np.maximum(top, 0), left + box_w, bottom])
        frames.append((boxes.astype(np.float32), rng.integers(0, len(NAMES), objects)))
    return frames


def time_camera(camera: CameraModel, frames: list, repeats: int) -> dict[str, float]:
    """Microseconds per locate_objects call: wall percentiles and CPU-time mean."""
    pose, grid = CameraPose(z=1.5, pitch=0.05), GridSpec(0.0, 80.0, -20.0, 20.0, 0.2)
    for boxes, ids in frames[:20]:  # warm up
        locate_objects(boxes, ids, NAMES, camera, pose, grid)
    walls = []
    cpu = time.process_time()
    for index in range(repeats):
        boxes, ids = frames[index % len(frames)]
        start = time.perf_counter()
        locate_objects(boxes, ids, NAMES, camera, pose, grid)
        walls.append(time.perf_counter() - start)
    cpu_us = (time.process_time() - cpu) / repeats * 1e6
    p50, p90, p99 = np.percentile(np.array(walls) * 1e6, [50, 90, 99])
    return {"p50_us": p50, "p90_us": p90, "p99_us": p99, "cpu_mean_us": cpu_us}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3000)
    parser.add_argument("--size", default="1280x720", metavar="WxH")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/objects_cost.json"))
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    pin_to_one_core()
    frames = frames_of_boxes(100, args.objects, (width, height))
    results = {}
    for name, (d, model, rectified) in CAMERAS.items():
        camera = CameraModel.from_camera_info(K, P, d, model, 1280, 720, rectified)
        camera = camera.scaled_to(width, height)
        results[name] = {
            k: round(v, 1) for k, v in time_camera(camera, frames, args.repeats).items()
        }
        figures = results[name]
        print(
            f"{name:20s} p50 {figures['p50_us']:7.1f} us  p90 {figures['p90_us']:7.1f} us  "
            f"p99 {figures['p99_us']:7.1f} us  cpu {figures['cpu_mean_us']:7.1f} us "
            f"({args.objects} objects, {width}x{height})"
        )
    write_json(
        args.json,
        {
            "size": [width, height],
            "objects": args.objects,
            "repeats": args.repeats,
            "cores": 1,
            "budget_us_objects_tracking_lanes": 3000,
            "per_frame": results,
            "machine": machine_info(),
            "opencv": cv2.__version__,
        },
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
