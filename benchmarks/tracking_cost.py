"""Cost of one Tracker.update on one core, on a simulated scene of N objects on the ground.

Objects move at constant velocity in the vehicle frame and are seen by a pinhole camera;
each frame some detections are missed, boxes and ground positions are noisy, a few false
positives and low-score boxes are mixed in, and stamps are jittered with dropped frames.
The scene's MOTA / IDF1 are printed too, as a check that the timed tracker really tracks.
Times are wall clock and the thread's CPU time (the latter excludes waiting for the core on a
shared machine); the cost of one small numpy operation, measured alongside, tells how busy
and how fast the core was.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from machine import machine_info

from hybridnets_core.evaluation.tracking import TrackingAccumulator
from hybridnets_core.fileio import write_json
from hybridnets_core.scene.tracking import Tracker

FOCAL, WIDTH, HEIGHT, CAMERA_HEIGHT = 1000.0, 1280, 720, 1.5
OBJECT_SIZE = np.array([1.8, 1.5])  # width, height in metres
FRAME_S, DROP_RATE, MISS_RATE, CLUTTER = 0.1, 0.05, 0.1, 3


def small_numpy_op_us(repeats: int = 20000) -> float:
    """Mean CPU microseconds of one small fancy-indexing operation (a reference unit)."""
    values, index = np.zeros((20, 4)), np.arange(5)
    start = time.thread_time_ns()
    for _ in range(repeats):
        values[index]
    return (time.thread_time_ns() - start) / repeats / 1e3


def pin_to_one_core() -> None:
    """Run on a single CPU so the figures mean 'per core'."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


class Scene:
    """N objects in front of the camera; one that leaves the view is replaced by a new one."""

    def __init__(self, rng: np.random.Generator, count: int) -> None:
        self.rng = rng
        self.next_id = 0
        self.ids = np.zeros(count, dtype=int)
        self.xy = np.zeros((count, 2))
        self.velocity = np.zeros((count, 2))
        self.respawn(np.ones(count, dtype=bool))

    def respawn(self, rows: np.ndarray) -> None:
        count = int(rows.sum())
        x = self.rng.uniform(8.0, 40.0, count)
        self.xy[rows] = np.stack([x, self.rng.uniform(-0.3, 0.3, count) * x], axis=1)
        self.velocity[rows] = self.rng.normal([0.0, 0.0], [4.0, 0.8], (count, 2))
        self.ids[rows] = self.next_id + np.arange(count)
        self.next_id += count

    def advance(self, dt: float) -> None:
        self.xy += dt * self.velocity
        boxes = self.boxes()
        outside = (self.xy[:, 0] < 5.0) | (self.xy[:, 0] > 45.0)
        outside |= (boxes[:, 2] < 0) | (boxes[:, 0] > WIDTH)
        if outside.any():
            self.respawn(outside)

    def boxes(self) -> np.ndarray:
        """True image boxes (x1, y1, x2, y2) [N, 4]."""
        x, y = self.xy[:, 0], self.xy[:, 1]
        centre_u = WIDTH / 2 - FOCAL * y / x
        half_width = FOCAL * OBJECT_SIZE[0] / 2 / x
        bottom = HEIGHT / 2 + FOCAL * CAMERA_HEIGHT / x
        top = bottom - FOCAL * OBJECT_SIZE[1] / x
        return np.stack([centre_u - half_width, top, centre_u + half_width, bottom], axis=1)

    def detections(self) -> tuple[np.ndarray, ...]:
        """Noisy detections of the visible objects plus clutter: boxes, scores, classes,
        ground positions and their covariances (3 % of range along x, 0.2 m along y)."""
        rng = self.rng
        seen = rng.random(len(self.xy)) > MISS_RATE
        truth = self.boxes()[seen]
        size = (truth[:, 2:] - truth[:, :2]).repeat(2, axis=1)
        boxes = truth + rng.normal(0.0, 0.03, truth.shape) * size
        scores = np.where(rng.random(len(boxes)) < 0.15, rng.uniform(0.15, 0.5), 0.9)
        std = np.stack([0.03 * self.xy[seen, 0], np.full(int(seen.sum()), 0.2)], axis=1)
        xy = self.xy[seen] + rng.normal(0.0, 1.0, std.shape) * std
        clutter = CLUTTER
        corner = rng.uniform([0, HEIGHT / 2], [WIDTH - 60, HEIGHT - 60], (clutter, 2))
        boxes = np.concatenate([boxes, np.concatenate([corner, corner + 50], axis=1)])
        scores = np.concatenate([scores, rng.uniform(0.1, 0.7, clutter)])
        xy = np.concatenate([xy, rng.uniform([5, -5], [40, 5], (clutter, 2))])
        std = np.concatenate([std, np.ones((clutter, 2))])
        cov = np.zeros((len(xy), 2, 2))
        cov[:, 0, 0], cov[:, 1, 1] = std[:, 0] ** 2, std[:, 1] ** 2
        return boxes, scores, np.zeros(len(boxes), dtype=int), xy, cov


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/tracking_cost.json"))
    args = parser.parse_args()
    pin_to_one_core()
    rng = np.random.default_rng(0)
    scene, tracker, metrics = Scene(rng, args.objects), Tracker(), TrackingAccumulator()
    stamp_ns, wall_ms, cpu_ms = 0, [], []
    reference_before = small_numpy_op_us()
    for frame in range(args.warmup + args.frames):
        dt = FRAME_S * (2 if rng.random() < DROP_RATE else 1) + rng.uniform(-0.01, 0.01)
        stamp_ns += round(dt * 1e9)
        scene.advance(dt)
        detections = scene.detections()
        wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
        result = tracker.update(stamp_ns, *detections)
        cpu, wall = time.thread_time_ns() - cpu, time.perf_counter_ns() - wall
        if frame >= args.warmup:
            wall_ms.append(wall / 1e6)
            cpu_ms.append(cpu / 1e6)
            current = result.time_since_update_s == 0
            metrics.update(
                np.array(result.track_ids)[current],
                result.boxes[current],
                scene.ids,
                scene.boxes(),
                result.ground_xy[current],
                scene.xy,
            )
    reference_us = (reference_before + small_numpy_op_us()) / 2
    summary = metrics.summary()
    figures = {
        name: {
            "median": round(float(np.median(values)), 4),
            "p95": round(float(np.percentile(values, 95)), 4),
            "max": round(float(np.max(values)), 4),
        }
        for name, values in (("wall", wall_ms), ("cpu", cpu_ms))
    }
    for name, figure in figures.items():
        print(
            f"Tracker.update {name:4s} ms, {args.objects} objects (+{CLUTTER} clutter), "
            f"{args.frames} frames: median {figure['median']:.3f}, p95 {figure['p95']:.3f}, "
            f"max {figure['max']:.3f}"
        )
    print(f"reference: one small numpy op {reference_us:.2f} us CPU")
    errors = summary["position_error_rel"]
    print(
        f"scene check: MOTA {summary['mota']:.3f}, IDF1 {summary['idf1']:.3f}, "
        f"id switches {summary['id_switches']} of {summary['num_objects']} objects, "
        "position error (rel, median) "
        + ", ".join(f"{k} m {v['median']}" for k, v in errors.items())
    )
    write_json(
        args.json,
        {
            "objects": args.objects,
            "clutter_per_frame": CLUTTER,
            "frames": args.frames,
            "cores": 1,
            "update_ms": figures,
            "small_numpy_op_us": round(reference_us, 3),
            "scene_check": {
                key: summary[key]
                for key in ("mota", "idf1", "id_switches", "num_objects", "position_error_rel")
            },
            "machine": machine_info(),
        },
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
