"""The node's /diagnostics statuses: perception health with its rates, counts and latencies,
and one camera pose check per camera. Built from plain values, so the node only gathers them."""

from __future__ import annotations

from collections.abc import Mapping

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from hybridnets_core.serving.calibration import CalibrationFeed


def health(state: str, totals: Mapping[str, int], rates: Mapping[str, float]) -> tuple[bytes, str]:
    """Diagnostic level and summary of the last period, the worst condition first."""
    if state != "active":
        return DiagnosticStatus.WARN, f"{state}: not processing"
    if rates["failed"] > 0:
        return DiagnosticStatus.ERROR, "frames failed in the pipeline"
    if rates["rejected"] > 0:
        return DiagnosticStatus.WARN, "malformed frames skipped"
    if totals["received"] == 0:
        return DiagnosticStatus.WARN, "no image received yet"
    if rates["received"] == 0:
        return DiagnosticStatus.WARN, "no image in the last period"
    return DiagnosticStatus.OK, "ok"


def perception_status(
    node_name: str,
    hardware_id: str,
    state: str,
    totals: Mapping[str, int],
    rates: Mapping[str, float],
    values: Mapping[str, str],
    latencies: Mapping[str, tuple[float, float]],
) -> DiagnosticStatus:
    """`<node>: perception`: the health, input and processed rates, frame counts, the given
    values and each stage's median and p95 latency (ms)."""
    status = DiagnosticStatus(name=f"{node_name}: perception", hardware_id=hardware_id)
    status.level, status.message = health(state, totals, rates)
    pairs = {
        "state": state,
        "input_rate_hz": f"{rates['received']:.2f}",
        "processed_rate_hz": f"{rates['processed']:.2f}",
        **{f"frames_{name}": str(count) for name, count in totals.items()},
        **values,
    }
    for stage, (median, p95) in latencies.items():
        pairs[f"latency_{stage}_median_ms"] = f"{median:.2f}"
        pairs[f"latency_{stage}_p95_ms"] = f"{p95:.2f}"
    status.values = [KeyValue(key=k, value=v) for k, v in pairs.items()]
    return status


def calibration_statuses(
    node_name: str, feeds: Mapping[str, CalibrationFeed]
) -> list[DiagnosticStatus]:
    """`<node>: calibration <camera>` per camera: WARN naming what looks off, else OK (with
    how many frames are still being collected)."""
    statuses = []
    for camera, feed in list(feeds.items()):
        report = feed.report()
        status = DiagnosticStatus(
            name=f"{node_name}: calibration {camera or 'camera'}", hardware_id=camera or "camera"
        )
        status.level = DiagnosticStatus.WARN if report.problems else DiagnosticStatus.OK
        if report.problems:
            status.message = "; ".join(report.problems)
        elif report.frames < feed.settings.min_frames:
            status.message = f"collecting: {report.frames} of {feed.settings.min_frames} frames"
        else:
            status.message = "ok"
        values = {
            "pitch_error_deg": report.pitch_error_deg,
            "height_m": report.height_m,
            "configured_height_m": report.configured_height_m,
        }
        status.values = [
            KeyValue(key=k, value="" if v is None else f"{v:.3f}") for k, v in values.items()
        ] + [KeyValue(key="frames", value=str(report.frames))]
        statuses.append(status)
    return statuses
