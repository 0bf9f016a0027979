"""Write a validation run to disk: JSON report plus PR-curve and confusion-matrix PNGs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..fileio import write_json
from .evaluator import Evaluation
from .plots import plot_confusion, plot_pr_curves


def _finite(value: Any) -> Any:
    """NaN becomes null so the report is strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_report(evaluation: Evaluation, names: list[str], out_dir: Path) -> list[Path]:
    """metrics.json always; pr_curve.png and confusion_matrix.png when matplotlib is present."""
    written = [out_dir / "metrics.json"]
    write_json(written[0], _finite({**evaluation.summary, "fitness": evaluation.fitness}))
    if plot_pr_curves(evaluation.pr_curves, names, out_dir / "pr_curve.png"):
        written.append(out_dir / "pr_curve.png")
    if plot_confusion(evaluation.confusion, names, out_dir / "confusion_matrix.png"):
        written.append(out_dir / "confusion_matrix.png")
    return written


def format_summary(evaluation: Evaluation) -> str:
    """The headline numbers as a few lines for the terminal."""
    det = evaluation.summary["detection"]
    bound = det.get("ap_error_bound") or 0.0
    lines = [
        f"protocol {evaluation.summary['protocol']}"
        + (f" (AP within {bound:.1e} of exact: scores binned)" if bound else ""),
        f"detection  mAP50 {det['mAP50']:.4f}  mAP50-95 {det['mAP50_95']:.4f}  "
        f"recall {det['recall']:.4f}  precision {det['precision']:.4f}  "
        f"({det['detections']} detections)",
        f"  best F1 {det['best_f1']['f1']:.4f} at conf {det['best_f1']['conf']:.3f}: "
        f"precision {det['best_f1']['precision']:.4f}  recall {det['best_f1']['recall']:.4f}",
    ]
    for name, row in det["per_class"].items():
        lines.append(f"  {name:<14} boxes {row['boxes']:>6}  AP50 {row['AP50']:.4f}")
    for variant, seg in evaluation.summary["segmentation"].items():
        parts = "  ".join(f"{key} {value:.4f}" for key, value in seg.items())
        lines.append(f"segmentation [{variant}]  {parts}")
    return "\n".join(lines)
