"""Project files, the HybridNets/BDD100K dataset layout, checks and augmentation."""

from .dataset import TrainDataset, ValDataset, collate_frames, collate_train
from .project import AugmentConfig, ProjectConfig, load_project
from .scan import DatasetReport, Sample, checked_samples, scan_split

__all__ = [
    "AugmentConfig",
    "DatasetReport",
    "ProjectConfig",
    "Sample",
    "TrainDataset",
    "ValDataset",
    "checked_samples",
    "collate_frames",
    "collate_train",
    "load_project",
    "scan_split",
]
