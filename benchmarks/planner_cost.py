"""Cost of the planner outputs per frame: objects on the ground, tracking and lane geometry
together, as the node computes them (SceneState), at 1280x720 with 20 objects; and what the
outputs over time add: lane index, in-path and lead vehicle (assess_path) and the local map
(the frame's ground grid fused in odom while the vehicle drives at 10 m/s).

Frames of a synthetic drive go through the built-in model once; the timed part is what the
node adds per frame on top of the network: locating the detections on the ground, tracking
them, fitting the lanes from the network-resolution lane mask, assessing the path and fusing
the local map. Building the messages is not included. JSON out.

  python benchmarks/planner_cost.py --frames 60 --out benchmarks/results/planner_cost.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from machine import machine_info

from hybridnets_core.bag.drive import SyntheticDrive
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.inference.results import Detections
from hybridnets_core.outputs.scene import SceneState
from hybridnets_core.outputs.settings import GroundSettings
from hybridnets_core.scene.ego_motion import EgoPose
from hybridnets_core.scene.ground import GroundProjector
from hybridnets_core.scene.lead import assess_path
from hybridnets_core.scene.local_map import LocalMap
from hybridnets_core.settings import DetectionSettings

SIZE = (1280, 720)
OBJECTS = 20


def twenty_boxes(result, rng: np.random.Generator) -> Detections:
    """The frame's detections topped up to exactly OBJECTS boxes standing on the road."""
    boxes = list(result.boxes[:OBJECTS])
    while len(boxes) < OBJECTS:
        x = rng.uniform(100, SIZE[0] - 200)
        y = rng.uniform(420, 600)
        w = rng.uniform(30, 160)
        boxes.append(np.array([x, y - 0.8 * w, x + w, y], np.float32))
    scores = np.sort(rng.uniform(0.5, 0.95, OBJECTS)).astype(np.float32)[::-1].copy()
    return Detections(np.stack(boxes).astype(np.float32), scores, np.zeros(OBJECTS, np.int64))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the frames")
    parser.add_argument("--out", type=Path, default=Path("planner_cost.json"))
    args = parser.parse_args()
    drive = SyntheticDrive(seed=3, size=SIZE, fps=10.0)
    pipeline = Pipeline.from_weights(None, detection=DetectionSettings(conf_threshold=0.25))
    rng = np.random.default_rng(0)
    frames = []
    for index in range(args.frames):
        result = pipeline(drive.render(index).image)
        frames.append(replace(result, detections=twenty_boxes(result, rng)))
    ground = GroundSettings()
    camera = drive.intrinsics
    projector = GroundProjector(camera, ground.camera, ground.grid)
    names = ("objects_and_tracking", "lanes", "total", "path", "local_map", "over_time")
    stages: dict[str, list[float]] = {name: [] for name in names}
    stamp = 0
    for _ in range(args.repeats):
        scene, local_map = SceneState(tracking=True), LocalMap()
        for index, frame in enumerate(frames):
            stamp += 100_000_000
            start = time.perf_counter()
            placed = scene.update(frame, stamp, camera, ground.camera, ground.grid, frame.names)
            located = time.perf_counter()
            lanes = scene.lanes(frame, camera, ground.camera)
            done = time.perf_counter()
            assess_path(placed.tracks, lanes, frame.names)
            assessed = time.perf_counter()
            occupancy = projector.occupancy(frame.drivable)
            local_map.fuse(EgoPose(index * 1.0, 0.0, 0.0), stamp, occupancy, ground.grid,
                           placed.objects)  # fmt: skip
            mapped = time.perf_counter()
            stages["objects_and_tracking"].append((located - start) * 1000)
            stages["lanes"].append((done - located) * 1000)
            stages["total"].append((done - start) * 1000)
            stages["path"].append((assessed - done) * 1000)
            stages["local_map"].append((mapped - assessed) * 1000)
            stages["over_time"].append((mapped - done) * 1000)
    report = {
        "image_size": list(SIZE),
        "objects_per_frame": OBJECTS,
        "frames": len(stages["total"]),
        "lane_mask": "network resolution (letterbox crop), as the node fits lanes",
        "stages_ms": {
            name: {
                "median": round(statistics.median(values), 3),
                "p90": round(float(np.percentile(values, 90)), 3),
            }
            for name, values in stages.items()
        },
        "machine": machine_info(),
    }
    print(json.dumps(report["stages_ms"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
