"""Project YAML files with the keys of the paper's `projects/*.yml`, read into typed settings."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from ..anchors import BDD_ANCHOR_RATIOS, BDD_ANCHOR_SCALES
from ..config import IMAGENET_MEAN, IMAGENET_STD, ModelConfig
from ..errors import ConfigError, DatasetError
from .numbers import parse_numbers


@dataclass
class AugmentConfig:
    """Training augmentation strengths; 0 turns a step off."""

    fliplr: float = 0.5
    hsv_h: float = 0.015
    hsv_s: float = 0.7
    hsv_v: float = 0.4
    rot_factor: float = 10.0
    scale_factor: float = 0.25
    shear: float = 0.0
    translate: float = 0.1
    mosaic: float = 0.0
    mixup: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentConfig:
        values = {f.name: float(data[f.name]) for f in fields(cls) if data.get(f.name) is not None}
        config = cls(**values)
        for name in ("fliplr", "mosaic", "mixup"):
            if not 0.0 <= getattr(config, name) <= 1.0:
                raise ConfigError(f"dataset.{name} is a probability in [0, 1]")
        return config


@dataclass
class DatasetPaths:
    """Folders of the HybridNets layout; each holds one sub-folder per split."""

    images: Path
    labels: Path
    masks: list[Path]
    train_split: str = "train"
    val_split: str = "val"
    image_suffix: str = "jpg"


@dataclass
class ProjectConfig:
    """Everything a project YAML says: classes, anchors, preprocessing, data, augmentation."""

    name: str
    obj_list: list[str]
    obj_combine: list[str]
    seg_list: list[str]
    seg_multilabel: bool
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    anchor_scales: tuple[float, ...] = BDD_ANCHOR_SCALES
    anchor_ratios: tuple[tuple[float, float], ...] = BDD_ANCHOR_RATIOS
    image_size: tuple[int, int] = (384, 640)  # (H, W)
    need_autoanchor: bool = False
    paths: DatasetPaths | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    source: Path | None = None

    @property
    def seg_mode(self) -> str:
        """binary for one class, else multilabel or multiclass as the YAML says."""
        if len(self.seg_list) == 1:
            return "binary"
        return "multilabel" if self.seg_multilabel else "multiclass"

    def require_paths(self) -> DatasetPaths:
        """The dataset folders, or a DatasetError when the project file names none."""
        if self.paths is None:
            raise DatasetError(
                f"{self.source}: no `dataset:` section with dataroot, labelroot and segroot"
            )
        return self.paths

    def class_index(self) -> dict[str, int]:
        """Category name -> class id; every obj_combine category maps to obj_list[0]."""
        index = {name: i for i, name in enumerate(self.obj_list)}
        index.update({name: 0 for name in self.obj_combine})
        return index

    def model_settings(self, input_size: tuple[int, int] | None = None) -> dict[str, Any]:
        """What the project fixes about a network: names, seg mode, anchors, input, normalisation.

        Passed as overrides to `load_model` so a checkpoint is read with the project's meaning.
        """
        return {
            "obj_list": self.obj_list,
            "seg_list": self.seg_list,
            "seg_mode": self.seg_mode,
            "anchor_scales": self.anchor_scales,
            "anchor_ratios": self.anchor_ratios,
            "input_size": input_size or self.image_size,
            "mean": self.mean,
            "std": self.std,
        }

    def model_config(
        self, compound_coef: int, input_size: tuple[int, int] | None = None
    ) -> ModelConfig:
        """The ModelConfig a network for this project is built from."""
        return ModelConfig(compound_coef=compound_coef, **self.model_settings(input_size))


def _require(data: dict[str, Any], key: str, source: Path) -> Any:
    if key not in data or data[key] in (None, ""):
        raise ConfigError(f"{source}: key {key!r} is missing; see config/bdd100k.yaml")
    return data[key]


def _dataset_paths(dataset: dict[str, Any], base: Path, source: Path) -> DatasetPaths:
    """Resolve dataroot/labelroot/segroot against `base`."""
    segroot = _require(dataset, "segroot", source)
    segroot = [segroot] if isinstance(segroot, str) else list(segroot)
    return DatasetPaths(
        images=base / str(_require(dataset, "dataroot", source)),
        labels=base / str(_require(dataset, "labelroot", source)),
        masks=[base / str(p) for p in segroot],
        train_split=str(dataset.get("train_set", "train")),
        val_split=str(dataset.get("val_set", dataset.get("test_set", "val"))),
        image_suffix=str(dataset.get("data_format", "jpg")).lstrip("."),
    )


def load_project(path: str | Path, data_root: str | Path | None = None) -> ProjectConfig:
    """Read a project YAML; relative dataset paths resolve against `data_root` (default: cwd)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"project file {path} not found; pass -p config/bdd100k.yaml") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of keys such as obj_list and seg_list")
    dataset = data.get("dataset") or {}
    model = data.get("model") or {}
    ratios = parse_numbers(data.get("anchors_ratios", list(BDD_ANCHOR_RATIOS)), "anchors_ratios")
    if not all(isinstance(r, list) and len(r) == 2 for r in ratios):
        raise ConfigError(f"{path}: anchors_ratios must be (x, y) pairs, got {ratios}")
    width, height = model.get("image_size", [640, 384])
    project = ProjectConfig(
        name=str(data.get("project_name", path.stem)),
        obj_list=[str(v) for v in _require(data, "obj_list", path)],
        obj_combine=[str(v) for v in data.get("obj_combine") or []],
        seg_list=[str(v) for v in _require(data, "seg_list", path)],
        seg_multilabel=bool(data.get("seg_multilabel", False)),
        mean=tuple(parse_numbers(data.get("mean", list(IMAGENET_MEAN)), "mean")),
        std=tuple(parse_numbers(data.get("std", list(IMAGENET_STD)), "std")),
        anchor_scales=tuple(
            parse_numbers(data.get("anchors_scales", list(BDD_ANCHOR_SCALES)), "anchors_scales")
        ),
        anchor_ratios=tuple((r[0], r[1]) for r in ratios),
        image_size=(int(height), int(width)),
        need_autoanchor=bool(data.get("need_autoanchor", False)),
        paths=_dataset_paths(dataset, Path(data_root or "."), path) if dataset else None,
        augment=AugmentConfig.from_dict(dataset),
        source=path,
    )
    project.model_config(0)  # validates classes, anchors, mean/std and image size early
    return project
