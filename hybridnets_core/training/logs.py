"""Per-epoch training records: a CSV file, TensorBoard scalars (if installed) and a PNG plot."""

from __future__ import annotations

import csv
from pathlib import Path

from ..evaluation.plots import plot_training_curves


class EpochLog:
    """Appends one row per finished epoch; rows past the resumed checkpoint are dropped."""

    def __init__(self, run_dir: Path, resume_epoch: int = 0) -> None:
        self.csv_path = run_dir / "results.csv"
        self.plot_path = run_dir / "results.png"
        self._truncate(resume_epoch)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.writer = None
        else:
            self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def _truncate(self, resume_epoch: int) -> None:
        """Keep only rows of the epochs the resumed checkpoint has finished."""
        if not self.csv_path.is_file():
            return
        with self.csv_path.open() as stream:
            reader = csv.DictReader(stream)
            fields, rows = reader.fieldnames, list(reader)
        with self.csv_path.open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=fields or [])
            writer.writeheader()
            writer.writerows(row for row in rows if int(row["epoch"]) <= resume_epoch)

    def add(self, row: dict[str, float | None], plot: bool) -> None:
        """Write one epoch's values (same keys every epoch, None when not measured); `plot`
        redraws the PNG (a second or more, so only after validation and at the end)."""
        new = not self.csv_path.is_file() or self.csv_path.stat().st_size == 0
        with self.csv_path.open("a", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("epoch", "step") and value is not None:
                    self.writer.add_scalar(key, value, int(row["step"]))
            self.writer.flush()
        if plot:
            plot_training_curves(self.csv_path, self.plot_path)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
