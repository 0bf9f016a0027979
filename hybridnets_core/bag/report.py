"""bag-eval report: report.json, report.md, latency and detection plots, val's metric files."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluation import Evaluation, write_report
from ..evaluation.plots import pyplot_or_none, save_figure
from ..fileio import write_bytes_atomic, write_json
from ..scene.calibration_check import CalibrationReport
from .replay import ReplayResult

NS_PER_S = 1e9


def _stats(values: list[float]) -> dict[str, float]:
    """Median, 95th percentile, mean and max of per-frame milliseconds."""
    array = np.asarray(values, np.float64)
    if array.size == 0:
        return {}
    return {
        "median": round(float(np.median(array)), 3),
        "p95": round(float(np.percentile(array, 95)), 3),
        "mean": round(float(array.mean()), 3),
        "max": round(float(array.max()), 3),
    }


def _stages(result: ReplayResult) -> list[str]:
    """Timed stages of the run (offline: decode to output; live: end to end)."""
    return list(result.frames[0].timings) if result.frames else []


def _per_frame_totals(result: ReplayResult) -> list[float]:
    return [sum(record.timings.values()) for record in result.frames]


def summary(
    result: ReplayResult, metrics: dict[str, Any] | None, published: dict[str, Any] | None
) -> dict[str, Any]:
    """The JSON report: inputs, outputs, throughput, latency per stage, detections, metrics."""
    counts = [record.detections for record in result.frames]
    latency = {s: _stats([r.timings[s] for r in result.frames]) for s in _stages(result)}
    if len(latency) > 1:
        latency["total"] = _stats(_per_frame_totals(result))
    return {
        "bag": str(result.bag),
        "image_topic": result.image_topic,
        "image_type": result.image_type,
        "camera_info": result.camera_info,
        "invalid_camera_info": result.invalid_camera_info,
        "output_bag": str(result.output),
        "output_topics": result.output_counts,
        "frames_processed": len(result.frames),
        "frames_skipped": [{"index": i, "reason": reason} for i, reason in result.skipped],
        "wall_s": round(result.wall_s, 3),
        "frames_per_s": round(len(result.frames) / result.wall_s, 3) if result.wall_s else None,
        "latency_ms": latency,
        "detections": {
            "total": int(sum(counts)),
            "per_frame_mean": round(float(np.mean(counts)), 3) if counts else None,
            "per_frame_max": max(counts, default=0),
        },
        "labels": result.label_source,
        "labelled_frames": sum(record.labelled for record in result.frames),
        "metrics": metrics,
        "planner": result.planner.summary() if result.planner is not None else None,
        "published_metrics": published,
        "agreement": result.agreement.summary() if result.agreement is not None else None,
        "stability": result.stability.summary() if result.stability is not None else None,
        "calibration": _calibration(result.calibration),
        "per_frame": [
            {
                "index": r.index,
                "stamp_ns": r.stamp_ns,
                "log_ns": r.log_ns,
                "detections": r.detections,
                "labelled": r.labelled,
                "timings_ms": {k: round(v, 3) for k, v in r.timings.items()},
            }
            for r in result.frames
        ],
    }


def _calibration(report: CalibrationReport | None) -> dict[str, Any] | None:
    """The camera pose check's report as JSON (angles in degrees, lengths in metres)."""
    if report is None:
        return None
    values = asdict(report)
    for key in ("pitch_error_deg", "height_m", "configured_height_m"):
        if values[key] is not None:
            values[key] = round(float(values[key]), 4)
    values["problems"] = list(report.problems)
    return values


def _seconds(result: ReplayResult) -> np.ndarray:
    """Frame times in seconds since the first frame's stamp."""
    stamps = np.array([r.stamp_ns for r in result.frames], np.float64)
    return (stamps - stamps[0]) / NS_PER_S if stamps.size else stamps


def plot_latency(result: ReplayResult, path: Path) -> bool:
    """Per-frame time of each stage, stacked, over the frame index; False without matplotlib."""
    plt = pyplot_or_none()
    if plt is None or not result.frames:
        return False
    figure, axes = plt.subplots(figsize=(8, 4))
    index = [r.index for r in result.frames]
    stages = _stages(result)
    series = [[r.timings[s] for r in result.frames] for s in stages]
    axes.stackplot(index, series, labels=stages)
    axes.set(xlabel="frame", ylabel="ms per frame", title="latency per frame (batch share)")
    axes.legend(loc="upper right", fontsize="small")
    save_figure(plt, figure, path)
    return True


def plot_detections(result: ReplayResult, path: Path) -> bool:
    """Detections per frame over bag time; False without matplotlib."""
    plt = pyplot_or_none()
    if plt is None or not result.frames:
        return False
    figure, axes = plt.subplots(figsize=(8, 3))
    axes.plot(_seconds(result), [r.detections for r in result.frames], marker=".")
    axes.set(xlabel="time since first frame (s)", ylabel="detections", title="detections over time")
    save_figure(plt, figure, path)
    return True


def plot_position_error(result: ReplayResult, path: Path) -> bool:
    """Median relative ground-position error per range bin; False without data/matplotlib."""
    plt = pyplot_or_none()
    if plt is None or result.planner is None:
        return False
    bins = result.planner.summary()["objects"]["position_error_rel"]
    names = [name for name, row in bins.items() if row["median"] is not None]
    if not names:
        return False
    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.bar(names, [100 * bins[n]["median"] for n in names])
    for index, name in enumerate(names):
        axes.annotate(f"n={bins[name]['count']}", (index, 100 * bins[name]["median"]), ha="center")
    axes.set(xlabel="true range (m)", ylabel="median error (% of range)", title="position error")
    save_figure(plt, figure, path)
    return True


def plot_id_timeline(result: ReplayResult, path: Path) -> bool:
    """Per true object, the frames it was tracked in, one colour per predicted id."""
    plt = pyplot_or_none()
    if plt is None or result.planner is None:
        return False
    timeline = result.planner.id_timeline()
    if not timeline:
        return False
    figure, axes = plt.subplots(figsize=(8, max(2.5, 0.25 * len(timeline))))
    colours = plt.get_cmap("tab20")
    order = sorted(timeline, key=int)
    for row, true_id in enumerate(order):
        track = timeline[true_id]
        for frame, predicted in zip(track["frames"], track["track_ids"]):
            colour = "lightgray" if predicted is None else colours(int(predicted) % 20)
            axes.plot([frame, frame + 1], [row, row], color=colour, linewidth=6)
    axes.set_yticks(range(len(order)), order)
    axes.set(xlabel="frame", ylabel="true vehicle id", title="track ids (grey: not tracked)")
    save_figure(plt, figure, path)
    return True


def _table(rows: list[list[Any]], head: list[str]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _metric_lines(metrics: dict[str, Any]) -> list[str]:
    """Detection and segmentation tables of one metrics.json."""
    det, seg = metrics["detection"], metrics["segmentation"]
    detection = [[k, _fmt(det[k])] for k in ("mAP50", "mAP50_95", "recall", "precision")]
    keys = list(next(iter(seg.values())))
    segmentation = [[k, *(_fmt(seg[v][k]) for v in seg)] for k in keys]
    return [
        "",
        *_table(detection, ["detection", "value"]),
        "",
        *_table(segmentation, ["segmentation", *seg]),
    ]


def _path_rows(planner: dict[str, Any]) -> list[list[str]]:
    """Rows of the velocity, lane assignment, lead, grid and local map scores."""
    velocity, lanes, lead = (
        planner["objects"]["velocity_error_mps"],
        planner["lanes"],
        planner["lead"],
    )
    ttc = lead["ttc_error_rel"]
    return [
        ["velocity error, relative to the vehicle (m/s, median)", _fmt(velocity["median"]),
         str(velocity["count"])],
        ["lane assignment accuracy", _fmt(lanes["assignment_accuracy"]),
         str(lanes["assignment_count"])],
        ["lead selection accuracy", _fmt(lead["selection_accuracy"]), str(lead["frames"])],
        [f"lead TTC relative error (median, true TTC < {ttc['ttc_below_s']:g} s)",
         _fmt(ttc["median"]), str(ttc["count"])],
        ["grid IoU (drivable)", _fmt(planner["grid"]["iou"]), str(planner["grid"]["frames"])],
        ["local map IoU (drivable)", _fmt(planner["local_map"]["iou"]),
         str(planner["local_map"]["frames"])],
    ]  # fmt: skip


def _agreement_lines(agreement: dict[str, Any]) -> list[str]:
    """The agreement section: candidate against the reference, and the worst frames."""
    det = agreement["detection"]
    lateral = agreement["ego_lane"]["lateral_difference_m"]
    rows = [
        ["agreement score (min of F1, drivable IoU, lane IoU)", _fmt(agreement["score"])],
        *[[f"detection {k} (IoU {det['iou']:g})", _fmt(det[k])]
          for k in ("precision", "recall", "f1")],
        ["detection mAP50 (reference boxes as labels)", _fmt(det["mAP50"])],
        ["drivable IoU", _fmt(agreement["drivable_iou"])],
        ["lane IoU", _fmt(agreement["lane_iou"])],
        *[[f"ego lane lateral difference at {d} m (median, m)", _fmt(v)]
          for d, v in lateral.items()],
        *[[f"object position difference {b} m (median, m; n={row['count']})", _fmt(row["median"])]
          for b, row in agreement["objects"]["position_difference_m"].items()],
        ["track id agreement", _fmt(agreement["tracking"]["id_agreement"])],
    ]  # fmt: skip
    lines = [
        "",
        f"## Agreement with the reference `{agreement['reference']}`",
        "",
        f"{agreement['frames']} frames, the reference's outputs taken as truth.",
        "",
        *_table(rows, ["metric", "value"]),
        "",
        f"Frames that disagree most (disagreement = {agreement['disagreement']}); "
        "overlays: candidate | reference.",
        "",
    ]
    lines += _table(
        [[f["index"], _fmt(f["disagreement"]), _fmt(f["f1"]), _fmt(f["drivable_iou"]),
          f"[{f['overlay']}]({f['overlay']})"] for f in agreement["worst_frames"]],
        ["frame", "disagreement", "F1", "drivable IoU", "overlay"],
    )  # fmt: skip
    return lines


def _stability_lines(
    stability: dict[str, Any] | None, calibration: dict[str, Any] | None
) -> list[str]:
    """Tables of the label-free scores: output stability and the camera pose check."""
    lines: list[str] = []
    if stability is not None:
        tracks, flicker = stability["tracks"], stability["flicker"]
        masks, jitter = stability["mask_iou"], stability["ego_lane_jitter_m"]
        rows = [
            ["tracks per track-second", _fmt(tracks["tracks_per_track_second"]),
             str(tracks["count"])],
            [f"short tracks (< {tracks['short_track_s']:g} s), share",
             _fmt(tracks["short_track_share"]), str(tracks["count"])],
            ["one-frame gaps per track-second", _fmt(flicker["flicker_per_track_second"]),
             str(flicker["one_frame_gaps"])],
            [f"consecutive drivable IoU, median ({masks['mode']})", _fmt(masks["median"]),
             str(masks["count"])],
            ["consecutive drivable IoU, 5th percentile", _fmt(masks["p05"]),
             str(masks["count"])],
            [f"ego lane offset change at {jitter['at_m']:g} m, median (m)",
             _fmt(jitter["median"]), str(jitter["count"])],
            ["ego lane offset change, 95th percentile (m)", _fmt(jitter["p95"]),
             str(jitter["count"])],
        ]  # fmt: skip
        lines += ["", "## Stability (no labels needed)", ""]
        lines += _table(rows, ["score", "value", "count"])
    if calibration is not None:
        rows = [
            [key, _fmt(calibration[key])]
            for key in ("pitch_error_deg", "height_m", "configured_height_m", "frames")
        ]
        rows.append(["problems", "; ".join(calibration["problems"]) or "none"])
        lines += ["", "## Camera pose check (from the ego lane)", ""]
        lines += _table(rows, ["calibration", "value"])
    return lines


def markdown(report: dict[str, Any], plots: list[str]) -> str:
    """A human-readable report.md of the JSON report, with the plots embedded."""
    lines = [
        f"# bag-eval: {report['bag']}",
        "",
        f"- input: `{report['image_topic']}` ({report['image_type']}), camera_info "
        f"`{report['camera_info']}`",
        f"- output bag: `{report['output_bag']}`",
        f"- frames: {report['frames_processed']} processed, {len(report['frames_skipped'])} "
        f"skipped; {report['frames_per_s']} frames/s over {report['wall_s']} s",
        f"- detections: {report['detections']['total']} "
        f"({report['detections']['per_frame_mean']} per frame)",
        "",
        "## Latency (ms per frame)",
        "",
    ]
    latency = report["latency_ms"]
    lines += _table(
        [
            [stage, *(latency[stage].get(k, "") for k in ("median", "p95", "max"))]
            for stage in latency
        ],
        ["stage", "median", "p95", "max"],
    )
    lines += ["", "## Output topics", ""]
    lines += _table(
        [[f"`{t}`", n] for t, n in report["output_topics"].items()], ["topic", "messages"]
    )
    lines += ["", "## Metrics (val protocol)", ""]
    if report["metrics"] is None:
        lines.append("None: no labels, or a live run (score the same bag offline for these).")
    else:
        lines.append(f"Labels: {report['labels']}, {report['labelled_frames']} labelled frames.")
        lines += _metric_lines(report["metrics"])
    planner = report["planner"]
    if planner is not None:
        tracking, in_grid, lanes = (
            planner["tracking"],
            planner["tracking_in_grid"],
            planner["lanes"],
        )
        lines += ["", "## Planner outputs against the drive's ground truth", ""]
        bins = planner["objects"]["position_error_rel"]
        lines += _table(
            [[name, row["count"], _fmt(row["median"])] for name, row in bins.items()],
            ["range (m)", "objects", "median error / range"],
        )
        lines += [
            "",
            *_table(
                [
                    [key, _fmt(tracking[key]), _fmt(in_grid[key])]
                    for key in ("mota", "idf1", "id_switches", "num_objects", "misses")
                ],
                ["tracking", "every vehicle", "vehicles inside the grid"],
            ),
        ]
        lateral = lanes["lateral_error_m"]
        rows = [[f"lateral error at {d} m", _fmt(v)] for d, v in lateral.items()]
        rows.append(["ego lane found rate", _fmt(lanes["ego_lane_found_rate"])])
        lines += ["", *_table(rows, ["lanes", "value"])]
        lines += ["", *_table(_path_rows(planner), ["path and ground", "value", "count"])]
    lines += _stability_lines(report["stability"], report["calibration"])
    if report["published_metrics"] is not None:
        lines += ["", "## Metrics of the published messages (node thresholds)", ""]
        lines += _metric_lines(report["published_metrics"])
    if report.get("agreement") is not None:
        lines += _agreement_lines(report["agreement"])
    lines += ["", "## Plots", ""] + [f"![{name}]({name})" for name in plots]
    if report["frames_skipped"]:
        lines += ["", "## Skipped frames", ""]
        lines += [f"- {s['index']}: {s['reason']}" for s in report["frames_skipped"]]
    return "\n".join(lines) + "\n"


def _metrics_files(
    evaluation: Evaluation | None, names: list[str], folder: Path
) -> tuple[list[Path], dict[str, Any] | None]:
    """val's metrics.json and plots for one evaluation, and the JSON as written."""
    if evaluation is None:
        return [], None
    written = write_report(evaluation, names, folder)
    return written, json.loads((folder / "metrics.json").read_text())


def write_bag_report(
    result: ReplayResult,
    class_names: list[str],
    out_dir: Path,
    published: Evaluation | None = None,
) -> list[Path]:
    """Write every report file into out_dir (published-output metrics under published/)."""
    written, metrics = _metrics_files(result.evaluation, class_names, out_dir)
    extra, published_metrics = _metrics_files(published, class_names, out_dir / "published")
    own = [
        out_dir / name
        for name, plot in (
            ("latency.png", plot_latency),
            ("detections.png", plot_detections),
            ("position_error.png", plot_position_error),
            ("id_timeline.png", plot_id_timeline),
        )
        if plot(result, out_dir / name)
    ]
    figures = [str(p.relative_to(out_dir)) for p in (*own, *written, *extra) if p.suffix == ".png"]
    report = summary(result, metrics, published_metrics)
    if result.agreement is not None:
        own += result.agreement.write_overlays(out_dir)
    write_json(out_dir / "report.json", report)
    write_bytes_atomic(out_dir / "report.md", markdown(report, figures).encode())
    return [*written, *extra, *own, out_dir / "report.json", out_dir / "report.md"]
