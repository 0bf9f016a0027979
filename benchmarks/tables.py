"""The README's "Measured" table and the tables of docs/measurements.md, generated from the
JSON files in benchmarks/results/ (written by benchmarks/run_all.py).

Each generated block sits between `<!-- generated: NAME -->` and `<!-- end generated -->`;
`--write` rewrites the blocks, `--check` (what the unit test does) fails when a document and
its JSON files disagree.

    python benchmarks/tables.py --write
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
DOCUMENTS = (REPO / "README.md", REPO / "docs" / "measurements.md")
BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.DOTALL)
RANGE_BINS = ("0-10", "10-20", "20-30", "30-40")
COEF3 = "coefficient 3 (the paper's network), random weights, 640x384 input"


@cache
def result(name: str) -> dict[str, Any]:
    """benchmarks/results/NAME.json."""
    return json.loads((RESULTS / f"{name}.json").read_text())


def ms(value: float) -> str:
    """Milliseconds with the digits the noise of these measurements allows."""
    if value >= 100:
        return f"{value:,.0f} ms"
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def ratio(value: float) -> str:
    return f"{value:.2f}x"


def points(value: float) -> str:
    """A metric in [0, 1] as three decimals."""
    return f"{value:.3f}"


def percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def load(name: str) -> str:
    """The 1-minute load average while a benchmark ran, mean (max), its own threads included
    (2 cores: 2.0 is a full machine)."""
    during = result(name)["provenance"]["load_average_1m_during"]
    return f"load {during['mean']:.1f} ({during['max']:.1f})"


def source(*names: str) -> str:
    """The JSON files a row comes from."""
    return ", ".join(f"`{name}.json`" for name in names)


def table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- runtimes


RUNTIME_NAMES = {
    "torch-reference": "torch, as the reference implementation runs it (unfolded, NCHW)",
    "torch": "torch, ours (BatchNorm and padding folded, channels_last)",
    "onnxruntime": "ONNX Runtime fp32",
    "onnxruntime-int8": "ONNX Runtime INT8, entropy calibration",
}


def stage(backend: dict[str, Any], name: str) -> float:
    return backend["stages"][name]["median_ms"]


def runtime_rows(name: str, label_suffix: str = "") -> list[list[str]]:
    report = result(name)
    rows = []
    for backend_name, backend in report["backends"].items():
        label = RUNTIME_NAMES[backend_name]
        if backend_name == "onnxruntime-int8":
            label += ", our native ops" if report["int8_native_ops"] else ", its own operators"
        rows.append(
            [
                label + label_suffix,
                ms(stage(backend, "preprocess")),
                ms(stage(backend, "forward")),
                ms(stage(backend, "postprocess")),
                ms(stage(backend, "total")),
                ratio(report["ratios"]["forward_speedup"][backend_name]),
                f"{load(name)}, {source(name)}",
            ]
        )
    return rows


def runtimes() -> str:
    header = ["backend", "preprocess", "forward", "postprocess", "total",
              "forward speed-up over the first row of its run", "load, JSON"]  # fmt: skip
    rows = runtime_rows("runtimes") + runtime_rows("runtimes_ort_operators")
    runs = result("runtimes")["backends"]["torch"]["runs"]
    note = (
        f"\n{COEF3}, batch 1, the 1280x720 dashcam frame, conf 0.25, 2 threads; medians of "
        f"{runs} interleaved runs per backend. The two JSON files are separate runs: compare "
        "ratios within one.\n"
    )
    return table(header, rows) + note


# ---------------------------------------------------------------- INT8 accuracy


def int8_accuracy() -> str:
    report = result("int8_accuracy")
    height, width = report["input_size"]
    rows = [
        [
            precision,
            points(report[precision]["mAP50"]),
            points(report[precision]["drivable_miou"]),
            points(report[precision]["lane_iou"]),
            ms(report[precision]["forward_median_ms"]),
        ]
        for precision in ("fp32", "int8")
    ]
    change = [-report[f"{key}_points_lost"] for key in ("mAP50", "drivable_miou", "lane_iou")]
    rows.append(
        ["INT8 - fp32, points", *(f"{value:+.2f}" for value in change), ratio(report["speedup"])]
    )
    ops = "with our native ops" if report["native_ops"] else "with ONNX Runtime's operators"
    note = (
        f"\nThe built-in model at {width}x{height}, ONNX Runtime; INT8 {report['calib_method']}-"
        f"calibrated on {report['calib_images']} synthetic training scenes {ops}, nothing kept "
        f"in float; paper protocol on {report['val_frames']} synthetic validation scenes; "
        f"{load('int8_accuracy')}, {source('int8_accuracy')}.\n"
    )
    return table(["", "mAP50", "drivable mIoU", "lane IoU", "forward"], rows) + note


# ---------------------------------------------------------------- the node


def node_latency() -> str:
    report = result("node_latency")
    rows = []
    for run in report["runs"]:
        rows.append(
            [
                f"{run['camera_rate_hz']:g} Hz",
                f"{ms(run['latency_median_ms'])} / {ms(run['latency_p95_ms'])}",
                ", ".join(ms(third) for third in run["latency_median_by_third_ms"]),
                f"{run['processed_rate_hz']:.2f} Hz",
                f"{run['node_dropped']} / {run['sent']}",
                ms(run["node_pipeline_ms"]),
                ms(run["worker_wait_ms"]),
                ms(run["node_glue_ms"]),
                ms(held_between_stages(run)),
                ms(run["transport_ms"]),
                ms(run["overhead_ms"]),
            ]
        )
    header = ["camera", "latency median / p95", "median over the run's thirds", "processed",
              "dropped", "node Pipeline", "worker wait", "glue", "held between stages",
              "transport", "overhead"]  # fmt: skip
    overlap = "on" if all(run["overlap"] for run in report["runs"]) else "off"
    note = (
        f"\n{COEF3}, torch on the CPU, the node's defaults (overlap {overlap}), 1280x720 bgr8 "
        f"frames, {report['duration_s']:g} s per rate; "
        f"`hybridnets bench` on the same weights and frame: "
        f"{ms(report['pipeline_bench_median_ms'])}; {load('node_latency')}, "
        f"{source('node_latency')}.\n"
    )
    return table(header, rows) + note


def held_between_stages(run: dict[str, Any]) -> float:
    """The node's total minus its stages: time a frame waits, with `overlap`, for the next
    stage's thread to be free (medians, so a fraction of a millisecond either way is noise)."""
    stages = run["node_stage_median_ms"]
    worked = sum(value for name, value in stages.items() if name != "total")
    return stages["total"] - worked


def slowest_camera_run() -> dict[str, Any]:
    """The node_latency run at the lowest camera rate: frames never wait for one another."""
    return min(result("node_latency")["runs"], key=lambda run: run["camera_rate_hz"])


# ---------------------------------------------------------------- several cameras


def camera_case(run: dict[str, Any]) -> str:
    overlap = f"overlap {'on' if run['overlap'] else 'off'}"
    if run["mode"] == "one_node" and run["cameras"] == 1:
        return f"one node, {overlap}"
    if run["mode"] == "one_node":
        return f"one node, one batch of {run['cameras']}, {overlap}"
    return f"{run['cameras']} separate nodes, {overlap}"


def worst_p95(run: dict[str, Any]) -> float:
    return max(camera["latency_p95_ms"] or 0.0 for camera in run["per_camera"].values())


def multi_camera_table(name: str) -> str:
    report = result(name)
    runs = sorted(report["runs"], key=lambda run: (run["cameras"], run["mode"], not run["overlap"]))
    rows = [
        [
            str(run["cameras"]),
            camera_case(run),
            f"{run['fps_per_camera_mean']:.2f}",
            f"{ms(run['latency_median_ms_mean'])} ({ms(worst_p95(run))})",
        ]
        for run in runs
    ]
    width, height = report["frame_size"]
    model = "the built-in model" if report["model"] == "built-in" else COEF3
    note = (
        f"\n{model}; {width}x{height} bgr8 frames at {report['rate_hz']:g} Hz to every camera, "
        f"{report['duration_s']:g} s measured after 5 s of warm-up, nodes in their own processes; "
        f"{load(name)}, {source(name)}.\n"
    )
    header = ["cameras", "how", "frames/s per camera", "latency median (worst camera's p95)"]
    return table(header, rows) + note


def multi_camera() -> str:
    return multi_camera_table("multi_camera")


def multi_camera_coef3() -> str:
    return multi_camera_table("multi_camera_coef3")


def camera_run(name: str, cameras: int, mode: str, overlap: bool = True) -> dict[str, Any]:
    return next(
        run
        for run in result(name)["runs"]
        if run["cameras"] == cameras and run["mode"] == mode and run["overlap"] == overlap
    )


# ---------------------------------------------------------------- validation memory, NMS


def val_memory() -> str:
    report = result("val_memory")
    rss = report["rss_mib"]
    rows = [
        [
            f"{report['images']:,}",
            f"{report['detections_kept']:,} ({report['detections_kept'] // report['images']:,} "
            "per image)",
            f"{rss['before']:.0f} MiB",
            f"{rss['at_25_percent']:.0f} / {rss['at_50_percent']:.0f} / {rss['at_end']:.0f} MiB",
            f"{rss['peak_main_process']:.0f} MiB",
            f"{rss['peak_largest_loader_worker']:.0f} MiB",
            f"{report['seconds']:.0f} s",
        ]
    ]
    header = ["images", "detections kept", "RSS before", "RSS at 25 / 50 / 100 %",
              "peak, main process", "peak, a loader worker", "time"]  # fmt: skip
    width, height = report["input_size"]
    note = (
        f"\n`hybridnets val`'s evaluation, a random-initialised coefficient-0 network at "
        f"{width}x{height}, conf 0.001, NMS IoU 0.6, every box kept (the paper protocol), "
        f"synthetic 1280x720 images, two loader workers; {load('val_memory')}, "
        f"{source('val_memory')}.\n"
    )
    return table(header, rows) + note


NMS_CASES = {
    "random_384x256": "random network, 384x256 (conf 0.001, IoU 0.6, no cap)",
    "random_640x384": "random network, 640x384 (conf 0.001, IoU 0.6, no cap)",
    "trained_like_640x384": "trained-like, 640x384 (clustered on a dozen objects)",
    "demo_random_640x384": "node setting on the random network (conf 0.25, IoU 0.3, at most 100)",
}


def nms_speed() -> str:
    cases = result("nms_speed")["cases"]
    rows = [
        [
            label,
            f"{cases[key]['candidates']:,}",
            f"{cases[key]['kept']:,}",
            ms(cases[key]["median_ms"]),
            ms(cases[key]["best_ms"]),
        ]
        for key, label in NMS_CASES.items()
    ]
    note = f"\nOne process, {load('nms_speed')}, {source('nms_speed')}.\n"
    return table(["case", "candidates", "kept", "median", "best"], rows) + note


# ---------------------------------------------------------------- planner outputs


def microseconds(value: float) -> str:
    return f"{value:,.0f} µs"


def planner_costs() -> str:
    objects = result("objects_cost")
    rows = [
        [
            f"objects, {camera_model} camera ({objects['objects']} detections)",
            microseconds(values["p50_us"]),
            f"{microseconds(values['p90_us'])} (p90)",
            f"{load('objects_cost')}, {source('objects_cost')}",
        ]
        for camera_model, values in objects["per_frame"].items()
    ]
    tracking = result("tracking_cost")
    wall = tracking["update_ms"]["wall"]
    rows.append(
        [
            f"tracking, one update ({tracking['objects']} objects + "
            f"{tracking['clutter_per_frame']} clutter boxes)",
            ms(wall["median"]),
            f"{ms(wall['p95'])} (p95)",
            f"{load('tracking_cost')}, {source('tracking_cost')}",
        ]
    )
    for size, values in result("lanes_cost")["results"].items():
        for step in ("ground_points", "fit_lanes"):
            rows.append(
                [
                    f"lanes, {step.replace('_', ' ')} from a {size} true lane mask "
                    f"({values['median_points']:,.0f} points)",
                    ms(values[step]["wall_median_ms"]),
                    f"{ms(values[step]['wall_min_ms'])} (min)",
                    f"{load('lanes_cost')}, {source('lanes_cost')}",
                ]
            )
    planner = result("planner_cost")
    for key, label in (
        ("objects_and_tracking", "objects with contact rows + tracking"),
        ("lanes", "lanes from the network-resolution mask"),
        ("total", "**all of it, what the node runs after the Pipeline**"),
        ("path", "lane index, in-path and lead vehicle (assess_path)"),
        ("local_map", "local map: the frame's ground grid made and fused in odom"),
        ("over_time", "**the outputs over time: path + local map**"),
    ):
        values = planner["stages_ms"][key]
        rows.append(
            [
                f"{label} (1280x720, {planner['objects_per_frame']} objects)",
                ms(values["median"]),
                f"{ms(values['p90'])} (p90)",
                f"{load('planner_cost')}, {source('planner_cost')}",
            ]
        )
    return table(["per frame, one core", "median", "spread", "load, JSON"], rows)


def fusion_cost() -> str:
    report = result("fusion_cost")
    cells = "x".join(str(n) for n in report["grid_cells"])
    labels = {
        "fusion": "fusion of the cameras' tracks",
        "surround": f"surround grid ({cells} cells)",
        "total": "**both**",
    }
    rows = [
        [label, ms(report["batch_ms"][key]["median"]), f"{ms(report['batch_ms'][key]['p95'])}"]
        for key, label in labels.items()
    ]
    check = report["check"]
    note = (
        f"\nPer batch, one core: {report['cameras']} cameras, {report['objects']} vehicles in "
        f"seven lanes, {report['frames']} batches; check: {check['duplicates_per_frame']:g} "
        f"duplicates per batch, {check['objects_with_one_id']} of {check['objects_seen']} "
        f"vehicles kept one id; {load('fusion_cost')}, {source('fusion_cost')}.\n"
    )
    return table(["per batch", "median", "p95"], rows) + note


def bag_eval_overhead() -> str:
    report = result("bag_eval_overhead")
    per_frame, fractions = report["per_frame_ms"], report["fraction_of_frame"]
    labels = {
        "pipeline": "the Pipeline (the network and its pre/postprocess)",
        "outputs": "the camera session's outputs, with the ground grid",
        "stability": "stability scores",
        "calibration": f"camera pose check (every {report['calibration_every_n_frames']}th "
        "frame; its mean)",
        "agreement": "agreement: the reference's outputs and the comparison",
    }
    rows = [
        [
            label,
            ms(per_frame[key]["mean" if key == "calibration" else "median"]),
            f"{100 * fractions[key]:.1f} %" if key in fractions else "",
        ]
        for key, label in labels.items()
    ]
    rows.append(
        ["**label-free scores, all three**", "", f"{100 * report['label_free_fraction']:.1f} %"]
    )
    width, height = report["image_size"]
    note = (
        f"\nThe built-in model, {report['frames']} frames of a {width}x{height} synthetic drive "
        "with its ego pose; the reference (the same model) runs its forward pass outside the "
        f"timed part; writing the bag not timed; {load('bag_eval_overhead')}, "
        f"{source('bag_eval_overhead')}.\n"
    )
    return table(["per frame", "median", "of the frame's own work"], rows) + note


def position_errors(bins: dict[str, Any]) -> str:
    def one(key: str) -> str:
        entry = bins.get(key)
        if not entry or entry.get("median") is None:
            return "-"
        return f"{100 * entry['median']:.1f} ({entry['count']})"

    return " / ".join(one(key) for key in RANGE_BINS)


def drive(name: str, seed: int) -> dict[str, Any]:
    return next(entry for entry in result(name)["drives"] if entry["seed"] == seed)


def drive_seed0() -> str:
    planner, edges = drive("planner_drives", 0), drive("planner_drives_box_edges", 0)
    grid, every = planner["tracking_in_grid"], planner["tracking"]
    lanes = planner["lanes"]
    lateral = " / ".join(f"{lanes['lateral_error_m'][d]:.3f}" for d in ("10", "20", "30"))
    rows = [
        ["object position error, median % of range (pairs), 0-10 / 10-20 / 20-30 / 30-40 m",
         "<= 5 % to 30 m", position_errors(planner["objects"]["position_error_rel"])],
        ["the same at the boxes' bottom edges (`--no-contact-from-drivable`)", "",
         position_errors(edges["objects"]["position_error_rel"])],
        ["tracking IDF1 inside the grid (the planner's 0-40 m x -10..10 m)", ">= 0.8",
         f"{points(grid['idf1'])} (MOTA {points(grid['mota'])}, {grid['id_switches']} id "
         f"switches, {grid['num_unique_objects']} vehicles)"],
        ["tracking IDF1, every vehicle however far", "",
         f"{points(every['idf1'])} (MOTA {points(every['mota'])}, {every['id_switches']} id "
         f"switches, {every['num_unique_objects']} vehicles)"],
        ["ego lane boundary lateral error at 10 / 20 / 30 m, median (m)", "<= 0.3 m at 20 m",
         lateral],
        ["ego lane found", ">= 90 % of frames", percent(lanes["ego_lane_found_rate"])],
    ]  # fmt: skip
    note = (
        f"\nThe built-in model on `hybridnets synth-bag --seed 0` (300 frames, 640x360, 10 Hz) "
        f"replayed by `hybridnets bag-eval` with the node's defaults; replay "
        f"{planner['replay_s']:.1f} s; {source('planner_drives', 'planner_drives_box_edges')}.\n"
    )
    return table(["measure", "target", "reached"], rows) + note


def drives_row(label: str, planner: dict[str, Any], edges: dict[str, Any]) -> list[str]:
    grid = planner.get("tracking_in_grid") or {}
    inside = (
        f"{points(grid['idf1'])} / {points(grid['mota'])}"
        if grid.get("num_objects")
        else "no vehicle inside the grid"
    )
    return [
        label,
        points(planner["tracking"]["idf1"]),
        inside,
        position_errors(planner["objects"]["position_error_rel"]),
        position_errors(edges["objects"]["position_error_rel"]),
    ]


def pooled_bins(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {
            "median": summary[f"position_error_rel.{key}"]["median_weighted_mean"],
            "count": summary[f"position_error_rel.{key}"]["pairs"],
        }
        for key in RANGE_BINS
        if f"position_error_rel.{key}" in summary
    }


def planner_drives() -> str:
    rows = [
        drives_row(str(entry["seed"]), entry, drive("planner_drives_box_edges", entry["seed"]))
        for entry in result("planner_drives")["drives"]
    ]
    pooled = {}
    for name in ("planner_drives", "planner_drives_box_edges"):
        summary = result(name)["summary"]
        pooled[name] = {
            "tracking": summary["tracking"],
            "tracking_in_grid": summary["tracking_in_grid"],
            "objects": {"position_error_rel": pooled_bins(summary)},
        }
    rows.append(
        [
            "**pooled**",
            *drives_row("", pooled["planner_drives"], pooled["planner_drives_box_edges"])[1:],
        ]
    )
    header = ["seed", "IDF1, every vehicle", "IDF1 / MOTA inside the grid",
              "position error % (pairs), 0-10 / 10-20 / 20-30 / 30-40 m",
              "the same at the boxes' bottom edges"]  # fmt: skip
    note = (
        "\nPooled: MOTA and IDF1 from the summed counts, per range bin the drives' medians "
        "weighted by their pairs; "
        f"{load('planner_drives')}, {source('planner_drives', 'planner_drives_box_edges')}.\n"
    )
    return table(header, rows) + note


def optional(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def motion_row(label: list[str], velocity: tuple, lanes: tuple, lead: float | None,
               ttc: tuple, grid: float | None, local_map: float | None) -> list[str]:  # fmt: skip
    """One row of the outputs over time: (value, count) pairs where a count says how many."""

    def counted(pair: tuple, digits: int = 3) -> str:
        value, count = pair
        return "-" if value is None else f"{value:.{digits}f} ({count})"

    return [*label, counted(velocity, 2), counted(lanes), optional(lead), counted(ttc, 2),
            optional(grid), optional(local_map)]  # fmt: skip


def planner_motion() -> str:
    rows = []
    for name in ("planner_drives", "planner_scenarios"):
        for entry in result(name)["drives"]:
            velocity, ttc = entry["objects"]["velocity_error_mps"], entry["lead"]["ttc_error_rel"]
            lanes = entry["lanes"]
            rows.append(motion_row(
                [entry.get("scenario", "drive"), str(entry["seed"])],
                (velocity["median"], velocity["count"]),
                (lanes["assignment_accuracy"], lanes["assignment_count"]),
                entry["lead"]["selection_accuracy"],
                (ttc["median"], ttc["count"]),
                entry.get("grid", {}).get("iou"),
                entry.get("local_map", {}).get("iou"),
            ))  # fmt: skip
        pooled = result(name)["summary"]
        label = "drives" if name == "planner_drives" else "scripted drives"
        rows.append(motion_row(
            [f"**pooled {label}**", ""],
            (pooled["velocity_error_mps.median_weighted_mean"],
             pooled["velocity_error_mps.count"]),
            (pooled["lanes.assignment_accuracy"], pooled["lanes.assignment_count"]),
            pooled["lead.selection_accuracy"],
            (pooled["lead.ttc_error_rel.median_weighted_mean"], pooled["lead.ttc_error_rel.count"]),
            pooled["grid.iou_mean"],
            pooled["local_map.iou_mean"],
        ))  # fmt: skip
    header = ["scenario", "seed", "velocity error, median m/s (pairs)",
              "lane assignment (pairs)", "lead selection", "TTC error, median (frames)",
              "grid IoU", "local map IoU"]  # fmt: skip
    note = (
        "\nTargets: velocity error <= 0.5 m/s, lane assignment >= 0.90, lead selection >= 0.95, "
        "TTC error <= 15 % (frames whose true TTC is under 10 s), local map IoU 0.05 above the "
        "per-frame grid's. Pooled: medians weighted by their counts, lead selection by frames, "
        f"IoUs averaged over the drives; {load('planner_drives')} and "
        f"{load('planner_scenarios')}, {source('planner_drives', 'planner_scenarios')}.\n"
    )
    return table(header, rows) + note


# ---------------------------------------------------------------- data, built-in model


def synth_speed() -> str:
    report = result("synth_speed")
    width, height = report["size"]
    rows = [
        ["rendering", f"{report['render_images_per_s']['wall']:.1f}",
         f"{report['render_images_per_s']['cpu']:.1f}"],
        ["rendering + encoding + writing the dataset",
         f"{report['dataset_images_per_s']['wall']:.1f}",
         f"{report['dataset_images_per_s']['cpu']:.1f}"],
    ]  # fmt: skip
    note = (
        f"\n{report['frames']} frames at {width}x{height}, one core; "
        f"{load('synth_speed')}, {source('synth_speed')}.\n"
    )
    return table(["synthetic scenes", "images/s (wall)", "images/s (CPU time)"], rows) + note


def heldout_row(protocol: str) -> list[str]:
    report = result("builtin_heldout")["protocols"][protocol]
    detection, segmentation = report["detection"], report["segmentation"]["paper"]
    return [
        protocol,
        points(detection["mAP50"]),
        points(detection["mAP50_95"]),
        points(detection["recall"]),
        points(segmentation["drivable_miou"]),
        points(segmentation["lane_iou"]),
        points(segmentation["lane_accuracy"]),
    ]


def builtin_heldout() -> str:
    report = result("builtin_heldout")
    header = ["protocol", "mAP50", "mAP50-95", "recall", "drivable mIoU", "lane IoU",
              "lane accuracy"]  # fmt: skip
    note = (
        f"\nThe built-in model (`{report['weights']}`, sha256 {report['weights_sha256'][:12]}) "
        f"at {report['input_size']} on 300 held-out synthetic scenes (`{report['data']}`), "
        f"{source('builtin_heldout')}.\n"
    )
    return table(header, [heldout_row("paper"), heldout_row("coco")]) + note


# ---------------------------------------------------------------- contention


CONTENTION_SETTINGS = {
    "old": "library defaults: idle threads spin",
    "new": "the default now: one thread per available core, no spinning",
}
CONTENTION_RUNTIMES = {"torch": "torch", "onnxruntime": "ONNX Runtime fp32"}


def contention_table(report: dict[str, Any]) -> str:
    """Forward time quiet and beside busy-loop processes, per runtime and thread settings."""
    rows = [
        [
            CONTENTION_RUNTIMES[name],
            CONTENTION_SETTINGS[settings],
            str(run["thread_settings"]["threads"]),
            ms(run["quiet"]["median_ms"]),
            ms(run["contended"]["median_ms"]),
            ratio(run["slowdown"]),
            ms(run["saturated"]["median_ms"]),
            ratio(run["slowdown_saturated"]),
        ]
        for name, by_settings in report["results"].items()
        for settings, run in by_settings.items()
    ]
    busy = f"beside {report['competitors']} busy process(es)"
    every = f"beside {report['cores']} (every core busy)"
    header = ["runtime", "threads", "count", "forward, quiet", busy, "slowdown", every, "slowdown"]
    return table(header, rows)


def contention() -> str:
    """`contention.json` as a table with its conditions."""
    report = result("contention")
    height, width = report["input_size"]
    note = (
        f"\nCoefficient {report['compound_coef']}, random weights, {width}x{height} input, "
        f"medians of {report['runs']} forward passes per case, each case in its own process; "
        f"{report['cores']} cores; {load('contention')}, {source('contention')}.\n"
    )
    return contention_table(report) + note


# ---------------------------------------------------------------- summary and provenance


def summary() -> str:
    """The README's table: one row per headline number, with its conditions and JSON."""
    runtimes_report = result("runtimes")
    backends = runtimes_report["backends"]
    speedup = runtimes_report["ratios"]["forward_speedup"]
    fp32 = stage(backends["onnxruntime"], "forward")
    ort_ops = result("runtimes_ort_operators")["backends"]
    ort_ops_ratio = stage(ort_ops["onnxruntime"], "forward") / stage(
        ort_ops["onnxruntime-int8"], "forward"
    )
    pre_post = stage(backends["onnxruntime"], "preprocess") + stage(
        backends["onnxruntime"], "postprocess"
    )
    int8 = result("int8_accuracy")
    heldout = heldout_row("paper")
    seed0 = drive("planner_drives", 0)
    pooled = result("planner_drives")["summary"]
    scripted = result("planner_scenarios")["summary"]
    memory = result("val_memory")
    one, coef3 = "multi_camera", "multi_camera_coef3"
    frames = "1280x720 dashcam frame, batch 1"
    rows = [
        ["torch forward, as the reference implementation runs it", f"{COEF3}, {frames}",
         ms(stage(backends["torch-reference"], "forward")), source("runtimes")],
        ["torch forward, ours (BatchNorm and padding folded, channels_last)", "same run",
         f"{ms(stage(backends['torch'], 'forward'))} ({ratio(speedup['torch'])} the reference)",
         source("runtimes")],
        ["ONNX Runtime fp32 forward", "same run", ms(fp32), source("runtimes")],
        ["ONNX Runtime INT8 forward, our native ops", "same run",
         f"{ms(stage(backends['onnxruntime-int8'], 'forward'))} "
         f"({ratio(fp32 / stage(backends['onnxruntime-int8'], 'forward'))} fp32)",
         source("runtimes")],
        ["ONNX Runtime INT8 forward, its own operators only", "its own run beside fp32",
         f"{ms(stage(ort_ops['onnxruntime-int8'], 'forward'))} ({ratio(ort_ops_ratio)} fp32)",
         source("runtimes_ort_operators")],
        ["preprocess + postprocess (ONNX Runtime fp32, conf 0.25)", "same run as the forwards",
         ms(pre_post), source("runtimes")],
        ["node overhead: decoding, output messages, publishing and DDS transport both ways",
         f"{COEF3}, 1280x720 frames at {slowest_camera_run()['camera_rate_hz']:g} Hz",
         f"{ms(slowest_camera_run()['overhead_ms'])} (latency "
         f"{ms(slowest_camera_run()['latency_median_ms'])})",
         source("node_latency")],
        ["INT8 accuracy of the built-in model, INT8 - fp32 in points",
         "paper protocol, 150 synthetic validation scenes",
         f"mAP50 {-int8['mAP50_points_lost']:+.2f}, drivable mIoU "
         f"{-int8['drivable_miou_points_lost']:+.2f}, "
         f"lane IoU {-int8['lane_iou_points_lost']:+.2f}",
         source("int8_accuracy")],
        ["`hybridnets val` peak memory, every box kept",
         f"{memory['images']:,} images, random coefficient-0 network, conf 0.001",
         f"{memory['rss_mib']['peak_main_process']:.0f} MiB "
         f"({memory['detections_kept'] // memory['images']:,} boxes per image)",
         source("val_memory")],
        ["one camera at 30 Hz, overlap on / off", "built-in model, 640x360 frames",
         f"{camera_run(one, 1, 'one_node')['fps_per_camera_mean']:.2f} / "
         f"{camera_run(one, 1, 'one_node', False)['fps_per_camera_mean']:.2f} frames/s",
         source(one)],
        ["the same", f"{COEF3}, 640x360 frames",
         f"{camera_run(coef3, 1, 'one_node')['fps_per_camera_mean']:.2f} / "
         f"{camera_run(coef3, 1, 'one_node', False)['fps_per_camera_mean']:.2f} frames/s",
         source(coef3)],
        ["2 cameras, overlap on: one node batching both / two separate nodes",
         "built-in model, 640x360 frames",
         f"{camera_run(one, 2, 'one_node')['fps_per_camera_mean']:.2f} / "
         f"{camera_run(one, 2, 'separate_nodes')['fps_per_camera_mean']:.2f} frames/s per camera",
         source(one)],
        ["built-in model, held-out synthetic scenes, paper protocol",
         "300 scenes at 512x256",
         f"mAP50 {heldout[1]}, mAP50-95 {heldout[2]}, recall {heldout[3]}, drivable mIoU "
         f"{heldout[4]}, lane IoU {heldout[5]}",
         source("builtin_heldout")],
        ["built-in model on a 300-frame synthetic drive (`bag-eval`, seed 0)",
         "node defaults, 640x360",
         f"tracking IDF1 {points(seed0['tracking_in_grid']['idf1'])} inside the grid; ego "
         f"lane found in {percent(seed0['lanes']['ego_lane_found_rate'])} of frames, lateral "
         f"error {seed0['lanes']['lateral_error_m']['20']:.3f} m at 20 m",
         source("planner_drives")],
        ["the same over seven drives, pooled", "seeds 0-6",
         f"IDF1 {points(pooled['tracking_in_grid']['idf1'])} inside the grid; position error "
         f"{position_errors(pooled_bins(pooled))} % (pairs) at 0-10 / 10-20 / 20-30 / 30-40 m",
         source("planner_drives")],
        ["the outputs over time, pooled: drives / scripted braking-lead and cut-in drives",
         "seeds 0-6 / seeds 0-1",
         f"velocity error {optional(pooled['velocity_error_mps.median_weighted_mean'], 2)} / "
         f"{optional(scripted['velocity_error_mps.median_weighted_mean'], 2)} m/s; lead "
         f"selection {optional(pooled['lead.selection_accuracy'])} / "
         f"{optional(scripted['lead.selection_accuracy'])}; TTC error (scripted) "
         f"{optional(scripted['lead.ttc_error_rel.median_weighted_mean'], 2)}",
         source("planner_drives", "planner_scenarios")],
        ["planner outputs per frame (objects, tracking, lanes)",
         f"1280x720, {result('planner_cost')['objects_per_frame']} objects, one core",
         f"{ms(result('planner_cost')['stages_ms']['total']['median'])} median",
         source("planner_cost")],
        ["fusion across cameras and the surround grid, per batch",
         f"{result('fusion_cost')['cameras']} cameras, {result('fusion_cost')['objects']} "
         "objects, one core",
         f"{ms(result('fusion_cost')['batch_ms']['total']['median'])} median",
         source("fusion_cost")],
    ]  # fmt: skip
    return table(["what", "conditions", "measured", "JSON"], rows)


def provenance() -> str:
    rows = []
    for path in sorted(RESULTS.glob("*.json")):
        stamp = result(path.stem).get("provenance")
        if stamp is None:
            continue
        machine = stamp["machine"]
        rows.append(
            [
                f"`{path.name}`",
                f"`{machine['git']['commit'][:10]}`"
                + (" + changes" if machine["git"]["dirty"] else ""),
                stamp["started_utc"][:16].replace("T", " "),
                f"{stamp['wall_s']:.0f} s",
                f"{machine['load_average_1_5_15'][0]:.2f}",
                load(path.stem).removeprefix("load "),
            ]
        )
    header = ["JSON", "commit", "started (UTC)", "took", "load before", "load during, mean (max)"]
    return table(header, rows)


def machine() -> str:
    info = result("runtimes")["provenance"]["machine"]
    libraries = ", ".join(
        f"{name} {info[name]}"
        for name in ("torch", "onnxruntime", "numpy", "opencv-python-headless", "opencv-python")
        if name in info
    )
    return (
        f"{info['cpu_count']} CPU cores ({info['cpu']}), no GPU; Python {info['python']}, "
        f"{libraries}.\n"
    )


TABLES: dict[str, Callable[[], str]] = {
    "summary": summary,
    "machine": machine,
    "provenance": provenance,
    "runtimes": runtimes,
    "int8_accuracy": int8_accuracy,
    "contention": contention,
    "node_latency": node_latency,
    "multi_camera": multi_camera,
    "multi_camera_coef3": multi_camera_coef3,
    "val_memory": val_memory,
    "nms_speed": nms_speed,
    "planner_costs": planner_costs,
    "fusion_cost": fusion_cost,
    "bag_eval_overhead": bag_eval_overhead,
    "drive_seed0": drive_seed0,
    "planner_drives": planner_drives,
    "planner_motion": planner_motion,
    "synth_speed": synth_speed,
    "builtin_heldout": builtin_heldout,
}


def regenerate(text: str) -> str:
    """The document with every generated block rendered from the JSON files now."""

    def render(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in TABLES:
            raise KeyError(f"unknown generated block {name!r}; known: {', '.join(TABLES)}")
        return match.group(1) + TABLES[name]() + match.group(4)

    return BLOCK.sub(render, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the generated blocks")
    action.add_argument("--check", action="store_true", help="fail if a document is stale")
    args = parser.parse_args()
    stale = []
    for document in DOCUMENTS:
        text = document.read_text()
        fresh = regenerate(text)
        if fresh != text:
            stale.append(document.relative_to(REPO))
            if args.write:
                document.write_text(fresh)
    if args.check and stale:
        print(f"stale generated tables in {', '.join(map(str, stale))}: run {__file__} --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
