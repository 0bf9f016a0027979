"""PyTorch datasets over checked samples: augmented training examples and raw validation frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from ..inference.letterbox import Letterbox
from ..inference.transform import ImageTransform
from ..media import read_image
from .augment import Example, augment, mixup, mosaic
from .labels import read_mask
from .project import AugmentConfig
from .scan import Sample
from .truth import FrameTruth, truth_masks

MOSAIC_TILES = 4


def network_masks(sample: Sample, letterbox: Letterbox, multiclass: bool) -> np.ndarray:
    """A sample's truth masks [C, H, W] at network size (see `truth_masks`)."""
    masks = np.stack([read_mask(path) for path in sample.masks])
    return truth_masks(masks, letterbox, multiclass)


@dataclass
class ValFrame(FrameTruth):
    """A validation frame: the untouched source image (BGR uint8) and its truth."""

    image: np.ndarray


class TrainDataset(Dataset):
    """Letterboxed, augmented examples; the same (seed, epoch, index) always gives the same one."""

    def __init__(
        self,
        samples: list[Sample],
        transform: ImageTransform,
        multiclass: bool,
        config: AugmentConfig,
        seed: int = 0,
    ) -> None:
        self.samples = samples
        self.transform = transform
        self.multiclass = multiclass
        self.config = config
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> Example:
        """One frame letterboxed to the network size, labels in network pixels."""
        sample = self.samples[index]
        image, letterbox = self.transform.letterboxed(read_image(sample.image))
        masks = network_masks(sample, letterbox, self.multiclass)
        return Example(image, masks, letterbox.boxes_to_network(sample.boxes), sample.classes)

    def example(self, index: int) -> Example:
        """The augmented example `index` of the current epoch (mosaic and mixup included)."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if rng.random() < self.config.mosaic:
            others = rng.integers(0, len(self), MOSAIC_TILES - 1)
            example = mosaic([self.load(i) for i in (index, *others)], rng)
        else:
            example = self.load(index)
        example = augment(example, rng, self.config)
        if rng.random() < self.config.mixup:
            other = augment(self.load(int(rng.integers(0, len(self)))), rng, self.config)
            example = mixup(example, other, rng, self.multiclass)
        return example

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        example = self.example(index)
        rgb = np.ascontiguousarray(example.image[..., ::-1].transpose(2, 0, 1))
        return {
            "image": torch.from_numpy(rgb),
            "boxes": torch.from_numpy(example.boxes.astype(np.float32)),
            "classes": torch.from_numpy(example.classes),
            "masks": torch.from_numpy(example.masks.view(np.uint8)),
        }


def collate_train(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack images and masks; pad boxes to the batch maximum with class -1."""
    most = max(1, max(len(item["boxes"]) for item in items))
    boxes = torch.zeros(len(items), most, 4)
    classes = torch.full((len(items), most), -1, dtype=torch.int64)
    for row, item in enumerate(items):
        boxes[row, : len(item["boxes"])] = item["boxes"]
        classes[row, : len(item["classes"])] = item["classes"]
    return {
        "image": torch.stack([item["image"] for item in items]),
        "boxes": boxes,
        "classes": classes,
        "masks": torch.stack([item["masks"] for item in items]),
    }


class ValDataset(Dataset):
    """Unaugmented frames for `hybridnets val`: the pipeline preprocesses the source image."""

    def __init__(self, samples: list[Sample], transform: ImageTransform, multiclass: bool) -> None:
        self.samples = samples
        self.transform = transform
        self.multiclass = multiclass

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> ValFrame:
        sample = self.samples[index]
        masks = network_masks(sample, self.transform.fit(sample.size), self.multiclass)
        return ValFrame(sample.boxes, sample.classes, masks, read_image(sample.image))


def collate_frames(frames: list[ValFrame]) -> list[ValFrame]:
    """Validation batches stay lists: source images differ in size."""
    return frames
