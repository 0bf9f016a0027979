"""Planner metrics of one model over several synthetic drives (one seed each), through the CLI.

Each drive is `hybridnets synth-bag --seed S --scenario C`, replayed by `hybridnets bag-eval`
with the node's defaults; the JSON keeps every drive's planner section (position errors,
tracking over every vehicle and inside the grid, lanes, velocities, lane indices, the lead and
its time to collision, grid and local map) and the pooled means, because one drive holds only a
few vehicles in each range bin.

    python benchmarks/planner_drives.py --seeds 0-6 --out benchmarks/results/planner_drives.json
    python benchmarks/planner_drives.py --out results/box_edges.json -- --no-contact-from-drivable
    python benchmarks/planner_drives.py --seeds 0-1 --scenarios braking-lead,cut-in --out ...
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from machine import machine_info

from hybridnets_core.cli.main import main as cli
from hybridnets_core.fileio import write_json

TOPIC = "/camera/image_raw"
BINS = ("0-10", "10-20", "20-30", "30-40")
POOLED_COUNTS = ("num_objects", "idtp", "idfp", "idfn", "misses", "false_positives", "id_switches")


def seed_range(text: str) -> list[int]:
    """'0-6' or '3' or '0,2,5' as a list of seeds."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-"))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",")]


def run_drive(
    seed: int,
    scenario: str,
    frames: int,
    fps: float,
    weights: str | None,
    flags: list[str],
    root: Path,
) -> dict:
    """One drive: synth-bag, bag-eval (with `flags`), the report's planner section with the
    replay time."""
    bag, out = root / f"drive{seed}-{scenario}", root / f"eval{seed}-{scenario}"
    if cli(["synth-bag", "--out", str(bag), "--frames", str(frames), "--fps", str(fps),
            "--seed", str(seed), "--scenario", scenario]) != 0:  # fmt: skip
        raise SystemExit(f"synth-bag failed for seed {seed}, scenario {scenario}")
    started = time.perf_counter()
    replay = ["bag-eval", "--bag", str(bag), "--topic", TOPIC, "--out", str(out)]
    if cli(replay + (["-w", weights] if weights else []) + flags) != 0:
        raise SystemExit(f"bag-eval failed for seed {seed}")
    report = json.loads((out / "report.json").read_text())
    replay_s = time.perf_counter() - started
    return {"seed": seed, "scenario": scenario, "replay_s": replay_s, **report["planner"]}


def weighted(values: list[tuple[float | None, int]]) -> float | None:
    """The mean of the drives' values weighted by their counts, over those that have one."""
    kept = [(value, count) for value, count in values if value is not None and count]
    if not kept:
        return None
    return float(np.average([v for v, _ in kept], weights=[c for _, c in kept]))


def pooled_motion(drives: list[dict]) -> dict[str, Any]:
    """The outputs over time pooled: velocity error and TTC error medians and the lane
    assignment weighted by their counts, lead selection by frames, grid and local map IoU
    averaged over the drives that score them."""
    velocity = [d["objects"]["velocity_error_mps"] for d in drives]
    ttc = [d["lead"]["ttc_error_rel"] for d in drives]
    lanes = [d["lanes"] for d in drives]
    grid = [d.get("grid", {}).get("iou") for d in drives]
    local_map = [d.get("local_map", {}).get("iou") for d in drives]
    return {
        "velocity_error_mps.median_weighted_mean": weighted(
            [(v["median"], v["count"]) for v in velocity]
        ),
        "velocity_error_mps.count": sum(v["count"] for v in velocity),
        "lanes.assignment_accuracy": weighted(
            [(lane["assignment_accuracy"], lane["assignment_count"]) for lane in lanes]
        ),
        "lanes.assignment_count": sum(lane["assignment_count"] for lane in lanes),
        "lead.selection_accuracy": weighted(
            [(d["lead"]["selection_accuracy"], d["lead"]["frames"]) for d in drives]
        ),
        "lead.ttc_error_rel.median_weighted_mean": weighted(
            [(t["median"], t["count"]) for t in ttc]
        ),
        "lead.ttc_error_rel.count": sum(t["count"] for t in ttc),
        "grid.iou_mean": weighted([(value, 1) for value in grid]),
        "local_map.iou_mean": weighted([(value, 1) for value in local_map]),
    }


def pooled(drives: list[dict]) -> dict[str, Any]:
    """The drives taken as one sequence: MOTA and IDF1 from the summed counts (a drive with
    few vehicles weighs little); per range bin, the drives' medians averaged with their pair
    counts as weights; lane figures averaged over the drives that have them."""
    summary: dict[str, Any] = {}
    for scope in ("tracking", "tracking_in_grid"):
        total = {key: sum(d[scope][key] for d in drives) for key in POOLED_COUNTS}
        idtp, truth = total["idtp"], total["num_objects"]
        errors = total["misses"] + total["false_positives"] + total["id_switches"]
        summary[scope] = {
            **total,
            "idf1": 2 * idtp / (2 * idtp + total["idfp"] + total["idfn"]) if truth else None,
            "mota": 1 - errors / truth if truth else None,
            "drives_with_objects": sum(d[scope]["num_objects"] > 0 for d in drives),
        }
    for name in BINS:
        rows = [d["objects"]["position_error_rel"][name] for d in drives]
        rows = [r for r in rows if r["count"]]
        counts = [r["count"] for r in rows]
        summary[f"position_error_rel.{name}"] = {
            "drives": len(rows),
            "pairs": sum(counts),
            "median_weighted_mean": (
                float(np.average([r["median"] for r in rows], weights=counts)) if rows else None
            ),
        }
    for key, values in (
        ("lanes.lateral_error_20m_mean", [d["lanes"]["lateral_error_m"].get("20") for d in drives]),
        ("lanes.ego_lane_found_rate_mean", [d["lanes"]["ego_lane_found_rate"] for d in drives]),
    ):
        kept = [v for v in values if v is not None]
        summary[key] = float(np.mean(kept)) if kept else None
    summary.update(pooled_motion(drives))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=seed_range, default=seed_range("0-6"))
    parser.add_argument(
        "--scenarios",
        type=lambda text: text.split(","),
        default=["drive"],
        help="comma-separated synth-bag scenarios, each replayed for every seed (drive)",
    )
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("-w", "--weights", default=None, help="checkpoint (default: built-in)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/planner_drives.json"))
    parser.add_argument(
        "flags", nargs="*", help="bag-eval flags after --, e.g. -- --no-contact-from-drivable"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        drives = [
            run_drive(seed, scenario, args.frames, args.fps, args.weights, args.flags, root)
            for scenario in args.scenarios
            for seed in args.seeds
        ]
    print(f"{'seed':>4} {'IDF1':>6} {'IDF1 grid':>9} {'MOTA grid':>9}  position error by bin")
    for drive in drives:
        errors = drive["objects"]["position_error_rel"]
        cells = [
            f"{errors[b]['median']:.3f} ({errors[b]['count']})" if errors[b]["count"] else "-"
            for b in BINS
        ]
        rates = [
            "-" if value is None else f"{value:.3f}"
            for value in (
                drive["tracking"]["idf1"],
                drive["tracking_in_grid"]["idf1"],
                drive["tracking_in_grid"]["mota"],
            )
        ]
        print(f"{drive['seed']:>4} {rates[0]:>6} {rates[1]:>9} {rates[2]:>9}  {' / '.join(cells)}")
    summary = pooled(drives)
    print(json.dumps(summary, indent=1))
    write_json(
        args.out,
        {
            "machine": machine_info(),
            "weights": args.weights or "built-in",
            "bag_eval_flags": args.flags,
            "scenarios": args.scenarios,
            "frames": args.frames,
            "fps": args.fps,
            "summary": summary,
            "drives": drives,
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
