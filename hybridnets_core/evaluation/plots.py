"""PNG figures of validation and training: PR curves, confusion matrix, loss/metric curves."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import write_bytes_atomic
from .detection import RECALL_POINTS


def pyplot_or_none() -> Any:
    """matplotlib with a file-only backend, or None when it is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_figure(plt: Any, figure: Any, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    write_bytes_atomic(path, buffer.getvalue())


def plot_pr_curves(curves: np.ndarray, names: list[str], path: Path) -> bool:
    """Interpolated precision over recall at IoU 0.5, one line per class; False without plt."""
    plt = pyplot_or_none()
    if plt is None:
        return False
    figure, axes = plt.subplots(figsize=(6, 5))
    for name, curve in zip(names, curves):
        axes.plot(RECALL_POINTS, curve, label=f"{name} AP50 {curve.mean():.3f}")
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="PR @ 0.5")
    axes.legend(loc="lower left")
    save_figure(plt, figure, path)
    return True


def plot_confusion(matrix: np.ndarray, names: list[str], path: Path) -> bool:
    """Confusion matrix (columns: true class, rows: predicted) normalised per true class."""
    plt = pyplot_or_none()
    if plt is None:
        return False
    labels = [*names, "background"]
    totals = matrix.sum(axis=0, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    figure, axes = plt.subplots(figsize=(1.2 * len(labels) + 3, 1.2 * len(labels) + 2))
    axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (row, col), count in np.ndenumerate(matrix):
        axes.text(col, row, str(count), ha="center", va="center")
    axes.set_xticks(range(len(labels)), labels, rotation=45)
    axes.set_yticks(range(len(labels)), labels)
    axes.set(xlabel="true", ylabel="predicted", title="confusion (conf 0.25, IoU 0.5)")
    save_figure(plt, figure, path)
    return True


def plot_training_curves(csv_path: Path, path: Path) -> bool:
    """One panel per numeric column of the training CSV, over epochs."""
    plt = pyplot_or_none()
    if plt is None or not csv_path.is_file():
        return False
    with csv_path.open() as stream:
        rows = list(csv.DictReader(stream))
    if not rows:
        return False
    columns = [c for c in rows[0] if c not in ("epoch", "step")]
    figure, axes = plt.subplots(
        (len(columns) + 3) // 4, 4, figsize=(16, 3 * ((len(columns) + 3) // 4)), squeeze=False
    )
    epochs = [int(row["epoch"]) for row in rows]
    for axis, column in zip(axes.flat, columns):
        values = [float(row[column]) if row[column] else np.nan for row in rows]
        axis.plot(epochs, values, marker=".")
        axis.set_title(column)
    for axis in list(axes.flat)[len(columns) :]:
        axis.axis("off")
    figure.tight_layout()
    save_figure(plt, figure, path)
    return True
