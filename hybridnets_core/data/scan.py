"""Dataset check before training: find every frame, test each file, summarise problems once."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import DatasetError
from .labels import LabelError, read_box_labels, read_mask
from .project import ProjectConfig

EXAMPLES_PER_PROBLEM = 3


@dataclass
class Sample:
    """One valid frame: its files, source size and boxes (source pixels)."""

    stem: str
    image: Path
    masks: list[Path]
    size: tuple[int, int]
    boxes: np.ndarray
    classes: np.ndarray


@dataclass
class DatasetReport:
    """Counts and example paths of every problem found; errors make a frame unusable."""

    split: str
    frames: int = 0
    usable: int = 0
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    warnings: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def summary(self) -> str:
        """Multi-line summary: totals, then each problem with its count and examples."""
        lines = [
            f"dataset '{self.split}': {self.frames} frames, {self.usable} usable, "
            f"{self.frames - self.usable} with errors"
        ]
        for label, problems in (("error", self.errors), ("warning", self.warnings)):
            for kind, paths in sorted(problems.items()):
                examples = ", ".join(paths[:EXAMPLES_PER_PROBLEM])
                lines.append(f"  {label}: {kind}: {len(paths)} (e.g. {examples})")
        return "\n".join(lines)


def _image_size(path: Path) -> tuple[int, int] | None:
    """Decoded (H, W) of an image file, or None when it cannot be read."""
    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else np.zeros(0, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    return None if image is None else image.shape[:2]


def _check_frame(
    project: ProjectConfig, split: str, image: Path
) -> tuple[Sample | None, list[tuple[str, str]], list[tuple[str, str]]]:
    """Read one frame's files; returns the sample (None if unusable), errors and warnings."""
    paths = project.paths
    stem = image.stem
    errors: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    size = _image_size(image)
    if size is None:
        return None, [("unreadable image", str(image))], []
    masks = [root / split / f"{stem}.png" for root in paths.masks]
    for mask_path in masks:
        if not mask_path.is_file():
            errors.append(("missing mask", str(mask_path)))
            continue
        try:
            shape = read_mask(mask_path).shape
        except DatasetError:
            errors.append(("unreadable mask", str(mask_path)))
            continue
        if shape != size:
            errors.append(("mask size differs from its image", str(mask_path)))
    label_path = paths.labels / split / f"{stem}.json"
    if not label_path.is_file():
        errors.append(("missing detection label", str(label_path)))
        return None, errors, warnings
    try:
        labels = read_box_labels(label_path, project.class_index(), size)
    except LabelError as exc:
        return None, [*errors, (exc.kind, str(label_path))], warnings
    if labels.unknown:
        warnings.append((f"unknown categories ignored ({labels.unknown[0]}...)", str(label_path)))
    if labels.clipped:
        warnings.append(("boxes outside the image, clipped", str(label_path)))
    if labels.dropped:
        warnings.append(("boxes empty inside the image, dropped", str(label_path)))
    if errors:
        return None, errors, warnings
    return Sample(stem, image, masks, size, labels.boxes, labels.classes), errors, warnings


def scan_split(
    project: ProjectConfig, split: str, workers: int = 4, max_images: int | None = None
) -> tuple[list[Sample], DatasetReport]:
    """Check every frame of a split; never raises for a bad file, only for a missing folder."""
    paths = project.require_paths()
    folder = paths.images / split
    if not folder.is_dir():
        raise DatasetError(
            f"image folder {folder} not found; set dataset.dataroot in {project.source} or "
            "pass --data DIR (the folder the dataset paths are relative to)"
        )
    images = sorted(folder.glob(f"*.{paths.image_suffix}"))[:max_images]
    report = DatasetReport(split=split, frames=len(images))
    stems = {p.stem for p in images}
    if max_images is None:
        label_folder = paths.labels / split
        for label in sorted(label_folder.glob("*.json")) if label_folder.is_dir() else []:
            if label.stem not in stems:
                report.warnings["label without image"].append(str(label))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        results = list(pool.map(lambda path: _check_frame(project, split, path), images))
    samples = []
    for sample, errors, warnings in results:
        for kind, path in errors:
            report.errors[kind].append(path)
        for kind, path in warnings:
            report.warnings[kind].append(path)
        if sample is not None:
            samples.append(sample)
    report.usable = len(samples)
    return samples, report


def checked_samples(
    project: ProjectConfig,
    split: str,
    skip_invalid: bool,
    workers: int = 4,
    max_images: int | None = None,
) -> tuple[list[Sample], DatasetReport]:
    """Scan a split; stop with the summary on errors unless skip_invalid, or if none is usable."""
    samples, report = scan_split(project, split, workers, max_images)
    if report.errors and not skip_invalid:
        raise DatasetError(
            f"{report.summary()}\nfix these files or pass --skip-invalid to use the "
            f"{len(samples)} usable frames"
        )
    if not samples:
        raise DatasetError(f"{report.summary()}\nno usable frames in split '{split}'")
    return samples, report
