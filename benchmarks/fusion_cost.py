"""Cost of the rig's outputs per batch on one core: fusion of three cameras' tracks
(CrossCameraFusion.update) and the surround grid (SurroundGrid.merge), for N objects.

Three cameras (front, front-left, front-right, 50 degrees apart, 60 degree field of view) look
at N vehicles in seven lanes, each lane at its own speed relative to the vehicle; each camera
observes the vehicles in its view at their centres with range-dependent noise and a
calibration bias of its own, under track ids of its own. Each camera's grid sees its wedge of
the surround grid. The fused objects' duplicates and ids per vehicle are printed too, as a
check that the timed fusion really fuses. Times are wall clock and the thread's CPU time.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from machine import machine_info

from hybridnets_core.fileio import write_json
from hybridnets_core.scene.fusion import CameraObservations, CrossCameraFusion
from hybridnets_core.scene.ground import DRIVABLE, UNSEEN, GridSpec
from hybridnets_core.scene.surround import SurroundGrid

CAMERAS = {"front": 0.0, "front_left": 50.0, "front_right": -50.0}  # yaw, degrees
CAMERA_XY = {"front": (2.0, 0.0), "front_left": (1.8, 0.8), "front_right": (1.8, -0.8)}
HALF_FOV = math.radians(30.0)
GRID = GridSpec(x_min=-10.0, x_max=50.0, y_min=-30.0, y_max=30.0, resolution=0.2)
FRAME_NS = 100_000_000


def pin_to_one_core() -> None:
    """Run on a single CPU so the figures mean 'per core'."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def in_view(xy: np.ndarray, camera: str) -> np.ndarray:
    """Which points [N, 2] lie within the camera's field of view, 3-60 m away."""
    offset = xy - np.asarray(CAMERA_XY[camera])
    bearing = np.arctan2(offset[:, 1], offset[:, 0]) - math.radians(CAMERAS[camera])
    bearing = (bearing + math.pi) % (2 * math.pi) - math.pi
    distance = np.hypot(offset[:, 0], offset[:, 1])
    return (np.abs(bearing) < HALF_FOV) & (distance > 3.0) & (distance < 60.0)


def wedge_grids() -> list[np.ndarray]:
    """Each camera's grid: its field of view on the surround spec, drivable, else unseen."""
    xs, ys = GRID.cell_centres()
    cells = np.column_stack([xs.ravel(), ys.ravel()])
    return [
        np.where(in_view(cells, camera), DRIVABLE, UNSEEN).astype(np.int8).reshape(xs.shape)
        for camera in CAMERAS
    ]


def observe(
    rng: np.random.Generator, camera: str, xy: np.ndarray, velocity: np.ndarray, stamp: int
) -> CameraObservations:
    """The camera's view of the vehicles: centres with range-dependent noise and a fixed bias
    of 0.3 m per 10 m along its axis (its calibration), velocity, sizes, its own ids."""
    seen = np.flatnonzero(in_view(xy, camera))
    offset = xy[seen] - np.asarray(CAMERA_XY[camera])
    distance = np.hypot(offset[:, 0], offset[:, 1])
    std = np.stack([0.02 * distance + 0.1, 0.01 * distance + 0.1], axis=1)
    bias = 0.03 * offset
    cov = np.zeros((len(seen), 2, 2))
    cov[:, 0, 0], cov[:, 1, 1] = std[:, 0] ** 2, std[:, 1] ** 2
    return CameraObservations(
        camera=camera,
        stamp_ns=stamp,
        track_ids=[f"{camera[0]}{i}" for i in seen],
        class_ids=np.zeros(len(seen), np.int64),
        scores=np.full(len(seen), 0.8),
        centre=xy[seen] + bias + rng.normal(0.0, 1.0, std.shape) * std,
        covariance=cov,
        velocity=velocity[seen],
        size=np.tile([4.5, 1.8, 1.5], (len(seen), 1)),
    )


def traffic(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Start positions and velocities [count, 2] of vehicles in seven lanes 3.5 m apart,
    12 m apart in each lane, every lane at its own speed relative to the vehicle."""
    lanes = 3.5 * (np.arange(count) % 7 - 3)
    x = 5.0 + 12.0 * (np.arange(count) // 7) + rng.uniform(0.0, 2.0, count)
    speed = rng.uniform(-4.0, 2.0, 7)[np.arange(count) % 7]
    return np.column_stack([x, lanes]), np.column_stack([speed, np.zeros(count)])


def percentiles(values: list[float]) -> dict[str, float]:
    return {
        "median": round(float(np.median(values)), 4),
        "p95": round(float(np.percentile(values, 95)), 4),
        "max": round(float(np.max(values)), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=30)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/fusion_cost.json"))
    args = parser.parse_args()
    pin_to_one_core()
    rng = np.random.default_rng(0)
    start, velocity = traffic(rng, args.objects)
    fusion, surround, grids = CrossCameraFusion(), SurroundGrid(), wedge_grids()
    positions = list(CAMERA_XY.values())
    times: dict[str, list[float]] = {"fusion": [], "surround": [], "total": [], "cpu": []}
    duplicates, fused_ids = 0, [set() for _ in range(args.objects)]
    for frame in range(args.warmup + args.frames):
        stamp = frame * FRAME_NS
        xy = start + velocity * (stamp / 1e9)
        batch = [observe(rng, camera, xy, velocity, stamp) for camera in CAMERAS]
        wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
        fused = fusion.update(batch)
        middle = time.perf_counter_ns()
        surround.merge(grids, positions, GRID)
        end, cpu = time.perf_counter_ns(), time.thread_time_ns() - cpu
        if frame < args.warmup:
            continue
        times["fusion"].append((middle - wall) / 1e6)
        times["surround"].append((end - middle) / 1e6)
        times["total"].append((end - wall) / 1e6)
        times["cpu"].append(cpu / 1e6)
        for index, point in enumerate(xy):
            near = np.flatnonzero(np.hypot(*(fused.position - point).T) < 1.5)
            duplicates += max(len(near) - 1, 0)
            fused_ids[index].update(fused.ids[i] for i in near)
    figures = {name: percentiles(values) for name, values in times.items()}
    seen_objects = [ids for ids in fused_ids if ids]
    check = {
        "duplicates_per_frame": round(duplicates / args.frames, 4),
        "objects_seen": len(seen_objects),
        "objects_with_one_id": sum(len(ids) == 1 for ids in seen_objects),
    }
    for name, figure in figures.items():
        print(
            f"{name:8s} ms, 3 cameras, {args.objects} objects, {GRID.width}x{GRID.height} "
            f"cells: median {figure['median']:.3f}, p95 {figure['p95']:.3f}"
        )
    print(f"check: {check}")
    write_json(
        args.json,
        {
            "cameras": len(CAMERAS),
            "objects": args.objects,
            "frames": args.frames,
            "grid_cells": [GRID.width, GRID.height],
            "cores": 1,
            "batch_ms": figures,
            "check": check,
            "machine": machine_info(),
        },
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
