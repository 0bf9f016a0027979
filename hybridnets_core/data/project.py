"""Project YAML files with the keys of the paper's `projects/*.yml`, read into typed settings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DatasetError
from ..limits import MAX_IMAGE_SIDE
from ..model.config import (
    BDD_ANCHOR_RATIOS,
    BDD_ANCHOR_SCALES,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ModelConfig,
)
from .numbers import parse_numbers, shown
from .yaml_loader import read_yaml

PROJECT_HINT = "pass -p config/bdd100k.yaml"


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
        values = {
            f.name: _finite(data[f.name], f"dataset.{f.name}")
            for f in fields(cls)
            if data.get(f.name) is not None
        }
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


def _finite(value: Any, name: str) -> float:
    """A finite number from YAML (not a bool, string, list or NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {shown(value)}")
    return float(value)


def _section(data: dict[str, Any], key: str, source: Path) -> dict[str, Any]:
    """A nested mapping such as `model:` or `dataset:` ({} when absent)."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {key} must be a mapping of keys, got {shown(value)}")
    return value


def _require(data: dict[str, Any], key: str, source: Path) -> Any:
    if key not in data or data[key] in (None, ""):
        raise ConfigError(f"{source}: key {key!r} is missing; see config/bdd100k.yaml")
    return data[key]


def _names(value: Any, key: str, source: Path) -> list[str]:
    """A list of class or folder names (strings or numbers, e.g. ['car', 'bus'])."""
    if not isinstance(value, list) or not all(
        isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
    ):
        raise ConfigError(
            f"{source}: {key} must be a list of names such as ['car'], got {shown(value)}"
        )
    return [str(v) for v in value]


def _flag(data: dict[str, Any], key: str, source: Path) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: {key} must be true or false, got {shown(value)}")
    return value


def _text(data: dict[str, Any], key: str, default: str, source: Path) -> str:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{source}: {key} must be a name, got {shown(value)}")
    return str(value)


def _image_size(model: dict[str, Any], source: Path) -> tuple[int, int]:
    """model.image_size [width, height] as (H, W): two whole numbers of 1..MAX_IMAGE_SIDE."""
    value = model.get("image_size", [640, 384])
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or not all(1 <= v <= MAX_IMAGE_SIDE for v in value)
    ):
        raise ConfigError(
            f"{source}: model.image_size must be [width, height] in pixels, each 1.."
            f"{MAX_IMAGE_SIDE}, e.g. [640, 384]; got {shown(value)}"
        )
    width, height = value
    return height, width


def _parsed(data: dict[str, Any], key: str, default: Any, source: Path) -> Any:
    """parse_numbers of `key` (default when absent), errors naming the file."""
    try:
        return parse_numbers(data.get(key, default), key)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _numbers(
    data: dict[str, Any], key: str, default: tuple[float, ...], source: Path
) -> tuple[float, ...]:
    """A flat list of finite numbers (or an expression string giving one), e.g. mean or std."""
    values = _parsed(data, key, list(default), source)
    if not all(isinstance(v, float) for v in values):
        raise ConfigError(f"{source}: {key} must be a list of numbers, got {shown(values)}")
    return tuple(values)


def _dataset_paths(dataset: dict[str, Any], base: Path, source: Path) -> DatasetPaths:
    """Resolve dataroot/labelroot/segroot against `base`."""
    segroot = _require(dataset, "segroot", source)
    segroot = _names([segroot] if isinstance(segroot, str) else segroot, "dataset.segroot", source)
    roots = {
        key: _text(dataset, key, _require(dataset, key, source), source)
        for key in ("dataroot", "labelroot")
    }
    return DatasetPaths(
        images=base / roots["dataroot"],
        labels=base / roots["labelroot"],
        masks=[base / p for p in segroot],
        train_split=_text(dataset, "train_set", "train", source),
        val_split=_text(dataset, "val_set", _text(dataset, "test_set", "val", source), source),
        image_suffix=_text(dataset, "data_format", "jpg", source).lstrip("."),
    )


def load_project(path: str | Path, data_root: str | Path | None = None) -> ProjectConfig:
    """Read a project YAML; relative dataset paths resolve against `data_root` (default: cwd).

    Every problem (unreadable, hostile or malformed file, wrong value types) is a one-line
    ConfigError naming the file and the key.
    """
    path = Path(path)
    data = read_yaml(path, PROJECT_HINT)
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of keys such as obj_list and seg_list")
    dataset = _section(data, "dataset", path)
    model = _section(data, "model", path)
    ratios = _parsed(data, "anchors_ratios", [list(r) for r in BDD_ANCHOR_RATIOS], path)
    if not all(isinstance(r, list) and len(r) == 2 for r in ratios):
        raise ConfigError(f"{path}: anchors_ratios must be (x, y) pairs, got {ratios}")
    project = ProjectConfig(
        name=_text(data, "project_name", path.stem, path),
        obj_list=_names(_require(data, "obj_list", path), "obj_list", path),
        obj_combine=_names(data.get("obj_combine") or [], "obj_combine", path),
        seg_list=_names(_require(data, "seg_list", path), "seg_list", path),
        seg_multilabel=_flag(data, "seg_multilabel", path),
        mean=_numbers(data, "mean", IMAGENET_MEAN, path),
        std=_numbers(data, "std", IMAGENET_STD, path),
        anchor_scales=_numbers(data, "anchors_scales", BDD_ANCHOR_SCALES, path),
        anchor_ratios=tuple((r[0], r[1]) for r in ratios),
        image_size=_image_size(model, path),
        need_autoanchor=_flag(data, "need_autoanchor", path),
        paths=_dataset_paths(dataset, Path(data_root or "."), path) if dataset else None,
        augment=AugmentConfig.from_dict(dataset),
        source=path,
    )
    try:
        project.model_config(0)  # validates classes, anchors, mean/std and image size early
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return project
