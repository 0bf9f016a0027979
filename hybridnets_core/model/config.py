"""Model configuration: everything needed to rebuild a network and interpret its outputs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigError
from ..limits import MAX_IMAGE_SIDE

SEG_MODES = ("binary", "multiclass", "multilabel")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PAD_VALUE = 114  # gray of the letterbox padding, as the network was trained
MAX_COMPOUND_COEF = 8
# The official BDD100K detection classes, in the order of its classifier.
BDD_CLASSES = [
    "person", "rider", "car", "truck", "bus", "train", "motor", "bike", "traffic light",
    "traffic sign",
]  # fmt: skip
# The official BDD100K anchors: scales per level and (x, y) stretch ratios.
BDD_ANCHOR_SCALES: tuple[float, ...] = (2**0, 2**0.70, 2**1.32)
BDD_ANCHOR_RATIOS: tuple[tuple[float, float], ...] = ((0.62, 1.58), (1.0, 1.0), (1.58, 0.62))


@dataclass
class ModelConfig:
    """Network structure plus the label names and preprocessing it was trained with.

    `input_size` is (H, W); it defaults to 384x640 (768x1280 for coefficient 8, whose top
    level P8 has stride 256).
    """

    compound_coef: int = 3
    obj_list: list[str] = field(default_factory=lambda: ["car"])
    seg_list: list[str] = field(default_factory=lambda: ["road", "lane"])
    seg_mode: str = "multiclass"
    anchor_scales: tuple[float, ...] = BDD_ANCHOR_SCALES
    anchor_ratios: tuple[tuple[float, float], ...] = BDD_ANCHOR_RATIOS
    input_size: tuple[int, int] | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        self.obj_list = list(self.obj_list)
        self.seg_list = list(self.seg_list)
        self.anchor_scales = tuple(float(s) for s in self.anchor_scales)
        self.anchor_ratios = tuple((float(r[0]), float(r[1])) for r in self.anchor_ratios)
        if self.input_size is None:
            self.input_size = (3 * self.max_stride, 5 * self.max_stride)
        self.input_size = (int(self.input_size[0]), int(self.input_size[1]))
        self.mean = tuple(float(v) for v in self.mean)  # type: ignore[assignment]
        self.std = tuple(float(v) for v in self.std)  # type: ignore[assignment]
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError for settings no network can be built from."""
        if not 0 <= self.compound_coef <= MAX_COMPOUND_COEF:
            raise ConfigError(f"compound_coef must be 0..8, got {self.compound_coef}")
        if self.seg_mode not in SEG_MODES:
            raise ConfigError(f"seg_mode must be one of {SEG_MODES}, got {self.seg_mode!r}")
        if not self.obj_list:
            raise ConfigError("obj_list is empty: the detector needs at least one class name")
        if not self.seg_list:
            raise ConfigError("seg_list is empty: name at least one segmentation class")
        if self.seg_mode == "binary" and len(self.seg_list) != 1:
            raise ConfigError(f"seg_mode 'binary' needs exactly one seg class, got {self.seg_list}")
        if not self.anchor_scales or not self.anchor_ratios:
            raise ConfigError("anchor_scales and anchor_ratios must not be empty")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError("mean and std need three values each (RGB), std > 0")
        check_input_size(self.input_size, self.max_stride)

    @property
    def num_classes(self) -> int:
        return len(self.obj_list)

    @property
    def seg_channels(self) -> int:
        """Channels of the segmentation logits: 1, classes+1 (with background) or classes."""
        if self.seg_mode == "binary":
            return 1
        return len(self.seg_list) + (1 if self.seg_mode == "multiclass" else 0)

    @property
    def num_anchors(self) -> int:
        return len(self.anchor_scales) * len(self.anchor_ratios)

    @property
    def max_stride(self) -> int:
        """Stride of the top pyramid level: P7 (128), or P8 (256) for coefficient 8."""
        return 256 if self.compound_coef == MAX_COMPOUND_COEF else 128

    @property
    def strides(self) -> list[int]:
        """Strides of the pyramid levels the heads predict on: P3..P7 (P3..P8 for coef 8)."""
        return [2**level for level in range(3, self.max_stride.bit_length())]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["anchor_ratios"] = [list(r) for r in self.anchor_ratios]
        for key in ("anchor_scales", "input_size", "mean", "std"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except (TypeError, ValueError, IndexError) as exc:
            raise ConfigError(f"invalid model config {data!r}: {exc}") from exc


def check_input_size(size: tuple[int, int], multiple: int = 128) -> None:
    """Network input (H, W) must be positive multiples of the largest stride, at most
    limits.MAX_IMAGE_SIDE a side."""
    height, width = size
    if max(height, width) > MAX_IMAGE_SIDE:
        raise ConfigError(
            f"input size {height}x{width} (HxW) is larger than {MAX_IMAGE_SIDE} px a side; "
            f"use e.g. {3 * multiple}x{5 * multiple}"
        )
    if height <= 0 or width <= 0 or height % multiple or width % multiple:
        raise ConfigError(
            f"input size {height}x{width} (HxW) is not a multiple of {multiple}, the largest "
            f"network stride; use e.g. {3 * multiple}x{5 * multiple}"
        )
