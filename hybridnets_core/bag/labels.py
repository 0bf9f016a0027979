"""Ground truth for bag frames: a HybridNets-layout folder keyed by frame index or timestamp,
or ground-truth topics in the bag, turned into exactly what `hybridnets val` scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..data.labels import read_box_labels, read_mask
from ..data.project import DatasetPaths, ProjectConfig, load_project
from ..data.truth import FrameTruth, truth_masks
from ..errors import DatasetError
from ..inference.letterbox import Letterbox
from ..inference.results import DRIVABLE_NAMES, LANE_NAMES
from ..model.config import ModelConfig
from ..outputs import messages
from ..outputs.codec import image_to_array
from .reader import BagReader

PROJECT_FILE = "project.yaml"  # written by `hybridnets synth-bag --dataset`
MIN_BOX_SIDE = 1.0  # as read_box_labels: boxes thinner than this inside the image are dropped


class LabelSource(Protocol):
    """Labels by frame index and header stamp; None for an unlabelled frame."""

    description: str

    def get(self, index: int, stamp: int, letterbox: Letterbox) -> FrameTruth | None: ...


def _finish_masks(masks: np.ndarray, multiclass: bool, letterbox: Letterbox) -> np.ndarray:
    """Source-size masks [C, H, W] to what val compares (`data.dataset.truth_masks`)."""
    if masks.shape[1:] != letterbox.source_size:
        raise DatasetError(
            f"label masks are {masks.shape[2]}x{masks.shape[1]} but the image is "
            f"{letterbox.source_size[1]}x{letterbox.source_size[0]}"
        )
    return truth_masks(masks, letterbox, multiclass)


def default_project(config: ModelConfig, root: Path = Path()) -> ProjectConfig:
    """The BDD100K folder layout under `root` with the checkpoint's classes (no merging), for
    label folders without a project file."""
    folders = {name: f"{name}_seg_annot" for name in config.seg_list}
    folders.update({n: "da_seg_annot" for n in config.seg_list if n in DRIVABLE_NAMES})
    folders.update({n: "ll_seg_annot" for n in config.seg_list if n in LANE_NAMES})
    return ProjectConfig(
        name="bag_labels",
        obj_list=config.obj_list,
        obj_combine=[],
        seg_list=config.seg_list,
        seg_multilabel=config.seg_mode == "multilabel",
        paths=DatasetPaths(
            root / "imgs", root / "det_annot", [root / folders[n] for n in config.seg_list]
        ),
    )


def labels_project(folder: Path, project: Path | None) -> ProjectConfig | None:
    """The project describing a label folder: the given file, else the folder's project.yaml."""
    if project is not None:
        return load_project(project, folder)
    if (folder / PROJECT_FILE).is_file():
        return load_project(folder / PROJECT_FILE, folder)
    return None


class FolderLabels:
    """Label files `<root>/<split>/<stem>.*` where stem is the frame index (`000042` or `42`)
    or the header stamp in nanoseconds."""

    def __init__(self, folder: Path, project: ProjectConfig) -> None:
        if not folder.is_dir():
            raise DatasetError(f"label folder {folder} does not exist")
        if project.paths is None:
            raise DatasetError(f"{project.source}: no `dataset:` section naming the label folders")
        self.project = project
        self.split = project.paths.val_split
        self.label_dir = project.paths.labels / self.split
        if not self.label_dir.is_dir():
            raise DatasetError(
                f"no detection label folder {self.label_dir}; expected the HybridNets layout "
                f"(det_annot/{self.split}/<frame>.json) under {folder}"
            )
        self.description = f"folder {folder}"

    def get(self, index: int, stamp: int, letterbox: Letterbox) -> FrameTruth | None:
        for stem in (f"{index:06d}", str(index), str(stamp)):
            path = self.label_dir / f"{stem}.json"
            if path.is_file():
                return self._read(stem, path, letterbox)
        return None

    def _read(self, stem: str, path: Path, letterbox: Letterbox) -> FrameTruth:
        labels = read_box_labels(path, self.project.class_index(), letterbox.source_size)
        masks = np.stack(
            [read_mask(root / self.split / f"{stem}.png") for root in self.project.paths.masks]
        )
        multiclass = self.project.seg_mode == "multiclass"
        return FrameTruth(labels.boxes, labels.classes, _finish_masks(masks, multiclass, letterbox))


def mask_topic(prefix: str, seg_name: str) -> str:
    """Ground-truth topic of a segmentation class, named like the node's mask outputs."""
    if seg_name in DRIVABLE_NAMES:
        return f"{prefix}/drivable_mask"
    if seg_name in LANE_NAMES:
        return f"{prefix}/lane_mask"
    return f"{prefix}/{seg_name}_mask"


def clip_boxes(
    boxes: np.ndarray, classes: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Clip boxes to the (H, W) image and drop those thinner than a pixel, as val's reader does."""
    boxes = boxes.astype(np.float32).reshape(-1, 4)
    np.clip(boxes[:, 0::2], 0, size[1], out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0, size[0], out=boxes[:, 1::2])
    keep = (boxes[:, 2] - boxes[:, 0] >= MIN_BOX_SIDE) & (boxes[:, 3] - boxes[:, 1] >= MIN_BOX_SIDE)
    return boxes[keep], classes[keep]


class TopicLabels:
    """Ground-truth topics (`<prefix>/detections`, `<prefix>/<class>_mask`) matched by stamp.

    One pass over those topics at start keeps each frame's labels at network size only.
    """

    def __init__(
        self, bag: BagReader, prefix: str, project: ProjectConfig, input_size: tuple[int, int]
    ) -> None:
        self.project = project
        self.detections = f"{prefix}/detections"
        self.masks = [mask_topic(prefix, name) for name in project.seg_list]
        bag.require(self.detections, (messages.DETECTIONS,))
        for topic in self.masks:
            bag.require(topic, (messages.IMAGE,))
        self.description = f"topics {prefix}/*"
        pending: dict[int, dict[str, Any]] = {}
        self._labels: dict[int, tuple[tuple[int, int], FrameTruth]] = {}
        for topic, _, msg in bag.messages([self.detections, *self.masks]):
            stamp = messages.stamp_ns(msg.header)
            found = pending.setdefault(stamp, {})
            found[topic] = msg
            if len(found) == 1 + len(self.masks):
                self._labels[stamp] = self._convert(pending.pop(stamp), input_size)

    @staticmethod
    def present(bag: BagReader, prefix: str) -> bool:
        """Whether the bag carries ground-truth detections under `prefix`."""
        return f"{prefix}/detections" in bag.topics

    def _convert(
        self, found: dict[str, Any], input_size: tuple[int, int]
    ) -> tuple[tuple[int, int], FrameTruth]:
        """One frame's messages to val's label arrays (unknown class names are ignored)."""
        masks = np.stack([image_to_array(found[topic])[0][:, :, 0] > 0 for topic in self.masks])
        letterbox = Letterbox.fit(masks.shape[1:], input_size)
        boxes, _, names = messages.detections_from_msg(found[self.detections])
        index_of = self.project.class_index()
        known = [i for i, name in enumerate(names) if name in index_of]
        classes = np.array([index_of[names[i]] for i in known], np.int64)
        boxes, classes = clip_boxes(boxes[known], classes, letterbox.source_size)
        multiclass = self.project.seg_mode == "multiclass"
        labels = FrameTruth(boxes, classes, _finish_masks(masks, multiclass, letterbox))
        return letterbox.source_size, labels

    def get(self, index: int, stamp: int, letterbox: Letterbox) -> FrameTruth | None:
        if stamp not in self._labels:
            return None
        size, labels = self._labels[stamp]
        if size != letterbox.source_size:
            raise DatasetError(
                f"ground-truth masks at t={stamp} ns are {size[1]}x{size[0]} but the image is "
                f"{letterbox.source_size[1]}x{letterbox.source_size[0]}"
            )
        return labels
