"""Project files, the HybridNets/BDD100K dataset layout, checks and augmentation.

The public names are imported lazily: projects and dataset checks are torch-free, the torch
datasets (`TrainDataset`, `ValDataset`) are not.
"""

from .. import lazy_exports

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

__getattr__ = lazy_exports(__name__, _EXPORTS)
