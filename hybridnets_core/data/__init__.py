"""Project files, the HybridNets/BDD100K dataset layout, checks and augmentation.

The public names are imported lazily: projects and dataset checks are torch-free, the torch
datasets (`TrainDataset`, `ValDataset`) are not.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AugmentConfig": ".project",
    "DatasetReport": ".scan",
    "ProjectConfig": ".project",
    "Sample": ".scan",
    "TrainDataset": ".dataset",
    "ValDataset": ".dataset",
    "checked_samples": ".scan",
    "collate_frames": ".dataset",
    "collate_train": ".dataset",
    "load_project": ".project",
    "scan_split": ".scan",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name], __name__), name)
