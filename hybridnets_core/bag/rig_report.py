"""report.json and report.md of a multi-camera replay (`bag-eval --rig` or several --topic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..fileio import write_bytes_atomic, write_json
from .rig_replay import RigReplayResult


def rig_summary(result: RigReplayResult) -> dict[str, Any]:
    """The report: the run, and the rig metrics' sections when the bag carries a rig truth."""
    report: dict[str, Any] = {
        "bag": str(result.bag),
        "output_bag": str(result.output),
        "cameras": result.cameras,
        "frames": result.frames,
        "wall_s": result.wall_s,
        "output_counts": result.output_counts,
    }
    if result.metrics is not None:
        report.update(result.metrics.summary())
    return report


def _markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: one table per metric section."""
    lines = [
        "# bag-eval (camera rig)",
        "",
        f"{report['frames']} frames of {', '.join(report['cameras'])} from {report['bag']} "
        f"in {report['wall_s']:.1f} s; outputs in {report['output_bag']}",
    ]
    for section in ("fusion", "tracking", "objects", "grid"):
        if section not in report:
            continue
        lines += ["", f"## {section}", "", "| key | value |", "|---|---|"]
        for key, value in _flat(report[section]):
            lines.append(
                f"| {key} | {value:.4g} |" if isinstance(value, float) else f"| {key} | {value} |"
            )
    return "\n".join(lines) + "\n"


def _flat(section: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested keys as dotted names."""
    rows = []
    for key, value in section.items():
        if isinstance(value, dict):
            rows += _flat(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def write_rig_report(result: RigReplayResult, out_dir: Path, done: str) -> list[Path]:
    """Write report.json, then `done` (report.md, written last: it marks a finished run)."""
    report = rig_summary(result)
    write_json(out_dir / "report.json", report)
    write_bytes_atomic(out_dir / done, _markdown(report).encode())
    return [out_dir / "report.json", out_dir / done]
