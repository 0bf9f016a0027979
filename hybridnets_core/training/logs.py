"""Per-epoch training records: a CSV file, TensorBoard scalars (if installed) and a PNG plot."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import OutputError
from ..evaluation.plots import plot_training_curves
from ..fileio import write_bytes_atomic


class EpochLog:
    """Appends one row per finished epoch; rows past the resumed checkpoint are dropped."""

    def __init__(self, run_dir: Path, resume_epoch: int = 0) -> None:
        self.csv_path = run_dir / "results.csv"
        self.plot_path = run_dir / "results.png"
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create the run folder {run_dir}: {exc.strerror or exc}; pass a "
                "writable --saved_path"
            ) from None
        self._truncate(resume_epoch)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.writer = None
        else:
            self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def _truncate(self, resume_epoch: int) -> None:
        """Keep only complete rows of the epochs the resumed checkpoint has finished (a run
        killed while appending leaves a cut row; it is dropped here, and rewritten atomically)."""
        try:
            text = self.csv_path.read_text()
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError):
            text = ""  # unreadable log: start a new one
        reader = csv.DictReader(io.StringIO(text))
        fields = reader.fieldnames or []
        kept = [row for row in reader if _complete(row, fields, resume_epoch)]
        output = io.StringIO()
        writer = csv.DictWriter(output, fieldnames=fields)
        if fields:
            writer.writeheader()
        writer.writerows(kept)
        write_bytes_atomic(self.csv_path, output.getvalue().encode())

    def add(self, row: dict[str, float | None], plot: bool) -> None:
        """Write one epoch's values (same keys every epoch, None when not measured); `plot`
        redraws the PNG (a second or more, so only after validation and at the end)."""
        new = not self.csv_path.is_file() or self.csv_path.stat().st_size == 0
        try:
            with self.csv_path.open("a", newline="") as stream:
                writer = csv.DictWriter(stream, fieldnames=list(row))
                if new:
                    writer.writeheader()
                writer.writerow(
                    {k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()}
                )
        except OSError as exc:
            raise OutputError(f"cannot write {self.csv_path}: {exc.strerror or exc}") from None
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


def _complete(row: dict[str, str | None], fields: list[str], resume_epoch: int) -> bool:
    """A row with every column and an epoch the resumed checkpoint has finished."""
    if any(row.get(name) is None for name in fields) or None in row:
        return False
    try:
        return int(row["epoch"]) <= resume_epoch
    except (KeyError, TypeError, ValueError):
        return False
