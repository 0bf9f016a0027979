"""Throughput of `hybridnets synth` on one core: render only, and render + encode + write."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from machine import machine_info

from hybridnets_core.fileio import write_json
from hybridnets_core.synth import generate_dataset, render_scene


def pin_to_one_core() -> None:
    """Run on a single CPU so the figure means 'images/s per core'."""
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def rates(work: Callable[[], None], frames: int) -> tuple[float, float]:
    """Images per second of `work` (which makes `frames` images) by wall clock and by CPU time.

    The CPU-time figure is what one uncontended core would reach on a shared machine.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return frames / (time.perf_counter() - wall), frames / (time.process_time() - cpu)


def render_frames(frames: int, size: tuple[int, int]) -> None:
    """render_scene alone, as generate_dataset seeds it."""
    for index in range(frames):
        render_scene(np.random.default_rng([0, 0, index]), size)


def write_frames(frames: int, size: tuple[int, int]) -> None:
    """generate_dataset with one worker, files included."""
    with tempfile.TemporaryDirectory() as tmp:
        generate_dataset(Path(tmp), train=frames, val=0, seed=0, size=size, workers=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", default="1280x720", metavar="WxH")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/synth_speed.json"))
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    pin_to_one_core()
    size = (width, height)
    render_scene(0, size)  # build the cached noise fields outside the timing
    render = rates(lambda: render_frames(args.frames, size), args.frames)
    full = rates(lambda: write_frames(args.frames, size), args.frames)
    for name, (wall, cpu) in (("render only", render), ("render + encode + write", full)):
        print(f"{name:24s} {wall:6.1f} images/s wall, {cpu:6.1f} per CPU-second ({width}x{height})")
    write_json(
        args.json,
        {
            "size": [width, height],
            "frames": args.frames,
            "cores": 1,
            "render_images_per_s": {"wall": round(render[0], 2), "cpu": round(render[1], 2)},
            "dataset_images_per_s": {"wall": round(full[0], 2), "cpu": round(full[1], 2)},
            "machine": machine_info(),
        },
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
