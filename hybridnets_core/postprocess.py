"""Turn raw network outputs into detections and masks for one letterboxed image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anchors import decode_boxes
from .letterbox import Letterbox
from .nms import batched_nms


@dataclass
class DetectionSettings:
    """Score/IoU thresholds and caps applied after the forward pass."""

    conf_threshold: float = 0.25
    iou_threshold: float = 0.3
    max_detections: int = 100
    max_candidates: int = 30000


def select_detections(
    regression: np.ndarray,
    classification: np.ndarray,
    anchors: np.ndarray,
    network_size: tuple[int, int],
    settings: DetectionSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (network pixels, clipped), scores and class ids after thresholding and class-wise NMS.

    Only anchors whose best class score exceeds the threshold are decoded; at most
    `max_candidates` of them (highest scores) enter NMS.
    """
    if classification.shape[1] == 1:
        scores = classification[:, 0]
        class_ids = np.zeros(len(scores), dtype=np.int64)
    else:
        class_ids = classification.argmax(axis=1)
        scores = np.take_along_axis(classification, class_ids[:, None], axis=1)[:, 0]
    candidates = np.flatnonzero(scores > settings.conf_threshold)
    if len(candidates) > settings.max_candidates:
        top = np.argpartition(-scores[candidates], settings.max_candidates)
        candidates = candidates[top[: settings.max_candidates]]
    boxes = decode_boxes(regression[candidates], anchors[candidates])
    height, width = network_size
    np.clip(boxes[:, 0::2], 0, width - 1, out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0, height - 1, out=boxes[:, 1::2])
    scores, class_ids = scores[candidates], class_ids[candidates]
    keep = batched_nms(
        boxes, scores, class_ids, settings.iou_threshold, max_output=settings.max_detections
    )
    return boxes[keep].astype(np.float32), scores[keep].astype(np.float32), class_ids[keep]


def segmentation_labels(logits: np.ndarray, seg_mode: str) -> np.ndarray:
    """Per-class boolean maps [C, H, W] from logits [K, H, W].

    multiclass: argmax over background + C classes; multilabel: each channel's sigmoid > 0.5;
    binary: the single channel's sigmoid > 0.5.
    """
    if seg_mode != "multiclass":
        return logits > 0
    best = logits[0]
    winner = np.zeros(logits.shape[1:], dtype=np.uint8)
    for channel in range(1, len(logits)):
        better = logits[channel] > best
        winner[better] = channel
        best = np.where(better, logits[channel], best)
    return class_maps(winner, len(logits) - 1)


def class_maps(winner: np.ndarray, num_classes: int) -> np.ndarray:
    """Boolean maps [C, H, W] from a class-index map [H, W] whose 0 is background."""
    return winner[None] == np.arange(1, num_classes + 1, dtype=winner.dtype)[:, None, None]


def masks_to_image(
    labels: np.ndarray, seg_names: list[str], letterbox: Letterbox, to_source: bool
) -> dict[str, np.ndarray]:
    """Crop padding off per-class maps and (optionally) resize them to the source image."""
    masks = {}
    for name, label in zip(seg_names, labels):
        if to_source:
            masks[name] = letterbox.map_to_source(label.view(np.uint8)).view(bool)
        else:
            masks[name] = np.ascontiguousarray(letterbox.crop(label))
    return masks
