"""What `hybridnets train` takes (torch-free, so the CLI builds its parser without torch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..data.project import ProjectConfig
from ..settings import EVALUATION_DETECTION, DetectionSettings

OPTIMIZERS = ("adamw", "sgd")


@dataclass
class TrainOptions:
    """Everything `hybridnets train` takes; defaults follow the paper."""

    project: ProjectConfig
    compound_coef: int = 3
    batch_size: int = 12
    workers: int = 2
    weights: str | None = None
    freeze: tuple[str, ...] = ()
    lr: float = 1e-4
    optim: str = "adamw"
    num_epochs: int = 500
    val_interval: int = 1
    amp: bool = False
    device: str = "cpu"
    saved_path: Path = Path("checkpoints")
    name: str | None = None
    input_size: tuple[int, int] | None = None
    max_images: int | None = None
    skip_invalid: bool = False
    seed: int = 0
    val: DetectionSettings = EVALUATION_DETECTION["paper"]  # thresholds of validation
    progress: bool = True

    @property
    def run_dir(self) -> Path:
        return self.saved_path / (self.name or self.project.name)
