"""Vectorised anchor assignment: every anchor of every image against its ground-truth boxes."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import InputError
from ..limits import MAX_BOXES_PER_EXAMPLE

POSITIVE_IOU = 0.5
SMALL_POSITIVE_IOU = 0.15
SMALL_BOX_AREA = 100.0
NEGATIVE_IOU = 0.4


@dataclass
class Assignment:
    """Per anchor: positive / negative masks and the box and class it is matched to."""

    positive: torch.Tensor  # bool [B, N]
    negative: torch.Tensor  # bool [B, N]; anchors neither positive nor negative are ignored
    boxes: torch.Tensor  # float [B, N, 4] (x1, y1, x2, y2) of the best-overlapping box
    classes: torch.Tensor  # int64 [B, N]


def pairwise_iou(anchors_xyxy: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """IoU [B, N, M] between anchors [N, 4] and each image's boxes [B, M, 4] (all x1y1x2y2)."""
    a = anchors_xyxy[None, :, None, :]
    b = boxes[:, None, :, :]
    width = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    height = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp(
        min=0
    )
    inter = width * height
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter).clamp(min=1e-6)


def assign(anchors_yxyx: torch.Tensor, boxes: torch.Tensor, classes: torch.Tensor) -> Assignment:
    """Match anchors to boxes: positive at IoU >= 0.5 (>= 0.15 for boxes under 100 px²),
    negative below 0.4, ignored in between. Padding boxes have class -1.

    Memory grows with batch x anchors x boxes (about 0.9 MB per box and image at 640x384), so
    more than MAX_BOXES_PER_EXAMPLE boxes per image are refused with an InputError.
    """
    batch, anchors = boxes.shape[0], anchors_yxyx.shape[0]
    if boxes.shape[1] > MAX_BOXES_PER_EXAMPLE:
        raise InputError(
            f"{boxes.shape[1]} boxes in one training image, more than {MAX_BOXES_PER_EXAMPLE} "
            "(limits.MAX_BOXES_PER_EXAMPLE); the dataset check skips frames over "
            "limits.MAX_BOXES_PER_IMAGE"
        )
    anchors_xyxy = anchors_yxyx[:, [1, 0, 3, 2]]
    valid = classes >= 0
    if boxes.shape[1] == 0 or not bool(valid.any()):
        none = torch.zeros(batch, anchors, dtype=torch.bool, device=boxes.device)
        return Assignment(
            none,
            ~none,
            torch.zeros(batch, anchors, 4, device=boxes.device),
            torch.zeros(batch, anchors, dtype=torch.int64, device=boxes.device),
        )
    iou = pairwise_iou(anchors_xyxy, boxes).masked_fill(~valid[:, None, :], -1.0)
    best_iou, best = iou.max(dim=2)
    matched = torch.gather(boxes, 1, best[..., None].expand(-1, -1, 4))
    area = (matched[..., 2] - matched[..., 0]) * (matched[..., 3] - matched[..., 1])
    threshold = torch.where(area < SMALL_BOX_AREA, SMALL_POSITIVE_IOU, POSITIVE_IOU)
    positive = best_iou >= threshold
    negative = (best_iou < NEGATIVE_IOU) & ~positive
    return Assignment(positive, negative, matched, torch.gather(classes, 1, best))
