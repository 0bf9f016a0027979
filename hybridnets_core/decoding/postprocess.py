"""Turn raw network outputs of one image into detections (network pixels) and label maps."""

from __future__ import annotations

import numpy as np

from ..settings import DetectionSettings
from .boxes import decode_boxes
from .nms import batched_nms


def select_detections(
    regression: np.ndarray,
    classification: np.ndarray,
    anchors: np.ndarray,
    network_size: tuple[int, int],
    settings: DetectionSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (network pixels, clipped), scores and class ids after thresholding and class-wise NMS.

    Only anchors whose best class score exceeds the threshold are decoded, and every one of
    them enters NMS (no candidate cap, as the paper's code); equal scores keep anchor order.
    """
    if classification.shape[1] == 1:
        scores = classification[:, 0]
        class_ids = np.zeros(len(scores), dtype=np.int64)
    else:
        class_ids = classification.argmax(axis=1)
        scores = np.take_along_axis(classification, class_ids[:, None], axis=1)[:, 0]
    candidates = np.flatnonzero(scores > settings.conf_threshold)
    boxes = decode_boxes(regression[candidates], anchors[candidates])
    height, width = network_size
    np.clip(boxes[:, 0::2], 0, width - 1, out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0, height - 1, out=boxes[:, 1::2])
    scores, class_ids = scores[candidates], class_ids[candidates]
    keep = batched_nms(boxes, scores, class_ids, settings.iou_threshold, max_output=settings.cap)
    return boxes[keep].astype(np.float32), scores[keep].astype(np.float32), class_ids[keep]


def encode_labels(logits: np.ndarray, seg_mode: str) -> np.ndarray:
    """uint8 labels from logits [..., K, H, W], as the end-to-end graph outputs them.

    multiclass: the argmax over background + C classes [..., H, W] (ties: lower channel);
    multilabel and binary: 0/1 per channel [..., K, H, W] (sigmoid > 0.5).
    """
    if seg_mode != "multiclass":
        return (logits > 0).view(np.uint8)
    best = logits[..., 0, :, :]
    winner = np.zeros(best.shape, dtype=np.uint8)
    for channel in range(1, logits.shape[-3]):
        better = logits[..., channel, :, :] > best
        winner[better] = channel
        best = np.where(better, logits[..., channel, :, :], best)
    return winner


def label_maps(labels: np.ndarray, seg_mode: str, num_classes: int) -> np.ndarray:
    """Per-class boolean maps [C, H, W] of one image's `encode_labels` output."""
    if seg_mode == "multiclass":
        return class_maps(labels, num_classes)
    return labels.view(bool)


def segmentation_labels(logits: np.ndarray, seg_mode: str) -> np.ndarray:
    """Per-class boolean maps [C, H, W] from one image's logits [K, H, W]."""
    num_classes = len(logits) - 1 if seg_mode == "multiclass" else len(logits)
    return label_maps(encode_labels(logits, seg_mode), seg_mode, num_classes)


def class_maps(winner: np.ndarray, num_classes: int) -> np.ndarray:
    """Boolean maps [C, H, W] from a class-index map [H, W] whose 0 is background."""
    return winner[None] == np.arange(1, num_classes + 1, dtype=winner.dtype)[:, None, None]
