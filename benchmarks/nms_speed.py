"""Speed of class-wise greedy NMS on realistic candidate sets (the evaluation protocol: no caps).

Boxes are decoded from the real anchors. "random network": every anchor is a candidate
(conf 0.001) with a random score, small random deltas, IoU 0.6, no output cap; at 384x256 and
640x384. "trained-like": a few thousand candidates clustered on a dozen objects, few hundred kept.
"demo": the node's setting (conf 0.25, IoU 0.3, at most 100 kept) on the random network.
`--compare FILE` also times another nms.py (e.g. the previous version) on the same inputs.

    python benchmarks/nms_speed.py --out benchmarks/results/nms_speed.json
    git show HEAD~1:hybridnets_core/decoding/nms.py > /tmp/old_nms.py
    python benchmarks/nms_speed.py --compare /tmp/old_nms.py
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path
from types import ModuleType

import numpy as np
from machine import machine_info

from hybridnets_core.decoding import nms
from hybridnets_core.decoding.boxes import box_iou, decode_boxes
from hybridnets_core.fileio import write_json
from hybridnets_core.model.anchors import generate_anchors

STRIDES = [8, 16, 32, 64, 128]


def clipped(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    np.clip(boxes[:, 0::2], 0, width - 1, out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0, height - 1, out=boxes[:, 1::2])
    return boxes.astype(np.float32)


def random_network(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, ...]:
    """Every anchor with small random deltas and a uniform random score."""
    anchors = generate_anchors(height, width, STRIDES)
    boxes = decode_boxes(rng.normal(0, 0.05, anchors.shape).astype(np.float32), anchors)
    scores = rng.random(len(anchors)).astype(np.float32)
    return clipped(boxes, height, width), scores, np.zeros(len(anchors), np.int64)


def trained_like(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, ...]:
    """Anchors overlapping one of 12 objects regress onto it (score ~ overlap); 300
    background anchors score just above 0.001."""
    anchors = generate_anchors(height, width, STRIDES)[:, [1, 0, 3, 2]]
    corner = rng.uniform(0, [width - 60, height - 40], (12, 2))
    objects = np.hstack([corner, corner + rng.uniform([20, 15], [160, 110], (12, 2))])
    overlap = box_iou(anchors.astype(np.float64), objects)
    best, owner = overlap.max(axis=1), overlap.argmax(axis=1)
    near = np.flatnonzero(best > 0.1)
    size = objects[owner[near], 2:] - objects[owner[near], :2]
    noise = rng.normal(0, 1, (len(near), 4)) * np.tile(0.05 * size, 2)
    background = rng.choice(np.setdiff1d(np.arange(len(anchors)), near), 300, replace=False)
    boxes = np.vstack([objects[owner[near]] + noise, anchors[background]])
    scores = np.concatenate(
        [best[near] * rng.uniform(0.5, 1.0, len(near)), rng.uniform(0.001, 0.01, 300)]
    ).astype(np.float32)
    classes = rng.integers(0, 3, len(boxes))
    return clipped(boxes, height, width), scores, classes


def timed(module: ModuleType, case: dict, repeat: int) -> dict:
    """Median and best wall time (ms) of batched_nms on one case, and the boxes kept."""
    boxes, scores, classes = case["inputs"]
    keep = scores > case["conf"]
    if case["max_candidates"] and keep.sum() > case["max_candidates"]:
        top = np.argsort(-scores * keep)[: case["max_candidates"]]
        keep = np.zeros_like(keep)
        keep[top] = True
    args = (boxes[keep], scores[keep], classes[keep], case["iou"], case["max_output"])
    times, kept = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        kept = module.batched_nms(*args)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "candidates": int(keep.sum()),
        "kept": len(kept),
        "median_ms": round(statistics.median(times), 1),
        "best_ms": round(min(times), 1),
        "indices": kept,
    }


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("compared_nms", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (5)")
    parser.add_argument("--compare", type=Path, default=None, help="another nms.py to time")
    parser.add_argument("--compare-repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/nms_speed.json"))
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    cases = {
        "random_384x256": dict(inputs=random_network(rng, 256, 384), conf=0.001, iou=0.6),
        "random_640x384": dict(inputs=random_network(rng, 384, 640), conf=0.001, iou=0.6),
        "trained_like_640x384": dict(inputs=trained_like(rng, 384, 640), conf=0.001, iou=0.6),
    }
    demo = dict(cases["random_640x384"], conf=0.25, iou=0.3, max_output=100, max_candidates=30000)
    for case in cases.values():
        case.update(max_output=None, max_candidates=None)
    cases["demo_random_640x384"] = demo
    compared = load_module(args.compare) if args.compare else None
    results = {}
    for name, case in cases.items():
        row = timed(nms, case, args.repeat)
        if compared is not None:
            other = timed(compared, case, args.compare_repeat)
            row["compared_median_ms"] = other["median_ms"]
            row["compared_same_result"] = bool(np.array_equal(other["indices"], row["indices"]))
        del row["indices"]
        results[name] = row
        print(name, row, flush=True)
    write_json(
        args.out,
        {
            "cases": results,
            "compared": str(args.compare) if args.compare else None,
            "machine": machine_info(),
        },
    )


if __name__ == "__main__":
    main()
