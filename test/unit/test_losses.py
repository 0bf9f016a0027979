"""Anchor assignment and the paper's losses, against hand-computed values and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hybridnets_core.decoding.boxes import encode_boxes
from hybridnets_core.model.anchors import generate_anchors
from hybridnets_core.training.assign import assign
from hybridnets_core.training.losses import (
    BOX_WEIGHT,
    detection_losses,
    focal_terms,
    segmentation_loss,
)


def _anchors_yxyx(*boxes_xyxy: list[float]) -> torch.Tensor:
    return torch.tensor(boxes_xyxy, dtype=torch.float32)[:, [1, 0, 3, 2]]


def test_assignment_thresholds() -> None:
    anchors = _anchors_yxyx(
        [0, 0, 10, 10],  # identical to the small box: positive
        [0, 0, 10, 25],  # IoU 0.4 with the small box (under 100 px²: positive at >= 0.15)
        [100, 100, 120, 120],  # IoU 0.64 with the big box: positive
        [100, 100, 116, 135.5],  # IoU 0.45 with the big box: ignored
        [200, 200, 210, 210],  # no overlap: negative
    )
    boxes = torch.tensor([[[0, 0, 10, 9.9], [100, 100, 116, 116]]])
    classes = torch.tensor([[3, 1]])
    result = assign(anchors, boxes, classes)
    assert result.positive.tolist() == [[True, True, True, False, False]]
    assert result.negative.tolist() == [[False, False, False, False, True]]
    assert result.classes[0, :3].tolist() == [3, 3, 1]
    assert torch.equal(result.boxes[0, 2], boxes[0, 1])


def test_assignment_matches_brute_force_and_ignores_padding() -> None:
    anchors = torch.from_numpy(generate_anchors(128, 256, [8, 16, 32, 64, 128]))
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 200, (2, 6, 2))
    sizes = rng.uniform(4, 80, (2, 6, 2))
    boxes = torch.tensor(np.concatenate([corners, corners + sizes], axis=2), dtype=torch.float32)
    classes = torch.tensor([[0, 1, 0, 1, -1, -1], [1, 1, 0, 0, 1, 0]])
    result = assign(anchors, boxes, classes)
    a = anchors[:, [1, 0, 3, 2]].numpy()
    for image in range(2):
        valid = classes[image] >= 0
        b = boxes[image][valid].numpy()
        for n in range(0, len(a), 7):
            inter_w = np.clip(np.minimum(a[n, 2], b[:, 2]) - np.maximum(a[n, 0], b[:, 0]), 0, None)
            inter_h = np.clip(np.minimum(a[n, 3], b[:, 3]) - np.maximum(a[n, 1], b[:, 1]), 0, None)
            inter = inter_w * inter_h
            area_a = (a[n, 2] - a[n, 0]) * (a[n, 3] - a[n, 1])
            ious = inter / (area_a + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter)
            best = ious.argmax()
            area = (b[best, 2] - b[best, 0]) * (b[best, 3] - b[best, 1])
            positive = ious[best] >= (0.15 if area < 100 else 0.5)
            assert bool(result.positive[image, n]) == positive
            assert bool(result.negative[image, n]) == (ious[best] < 0.4 and not positive)
            if positive:
                assert int(result.classes[image, n]) == int(classes[image][valid][best])


def test_focal_terms_by_hand() -> None:
    probs = torch.tensor([0.9, 0.9, 0.2])
    targets = torch.tensor([1.0, 0.0, 0.0])
    expected = [
        -0.25 * 0.1**2 * math.log(0.9),
        -0.75 * 0.9**2 * math.log(0.1),
        -0.75 * 0.2**2 * math.log(0.8),
    ]
    assert focal_terms(probs, targets).tolist() == pytest.approx(expected, rel=1e-5)


def test_detection_losses_by_hand() -> None:
    anchors = _anchors_yxyx([0, 0, 16, 16], [40, 40, 56, 56], [90, 90, 99, 99])
    boxes = torch.tensor([[[1.0, 1.0, 17.0, 17.0]]])
    classes = torch.tensor([[1]])
    target = encode_boxes(boxes[0].numpy(), anchors[:1].numpy())
    regression = torch.zeros(1, 3, 4)
    regression[0, 0] = torch.from_numpy(target[0]) + torch.tensor([0.05, 0.0, 0.5, 0.0])
    classification = torch.full((1, 3, 2), 0.1)
    classification[0, 0, 1] = 0.8
    cls_loss, box_loss = detection_losses(regression, classification, anchors, boxes, classes)
    # one positive anchor: its class-1 term, then every class-0 / negative term at p = 0.1
    terms = -0.25 * 0.2**2 * math.log(0.8) + 5 * (-0.75 * 0.1**2 * math.log(0.9))
    assert cls_loss.item() == pytest.approx(terms, rel=1e-5)
    smooth = 0.5 * 9 * 0.05**2 + (0.5 - 0.5 / 9)  # |0.05| < 1/9 quadratic, |0.5| linear
    assert box_loss.item() == pytest.approx(BOX_WEIGHT * smooth / 4, rel=1e-4)


def test_detection_losses_without_boxes_and_gradients() -> None:
    anchors = torch.from_numpy(generate_anchors(128, 128, [8, 16, 32, 64, 128]))
    regression = torch.zeros(2, len(anchors), 4, requires_grad=True)
    logits = torch.zeros(2, len(anchors), 1, requires_grad=True)
    cls_loss, box_loss = detection_losses(
        regression, logits.sigmoid(), anchors, torch.zeros(2, 1, 4), torch.full((2, 1), -1)
    )
    assert box_loss.item() == 0.0 and cls_loss.item() > 0
    cls_loss.backward()
    assert logits.grad.abs().sum() > 0


@pytest.mark.parametrize("mode,channels", [("multiclass", 3), ("multilabel", 2), ("binary", 1)])
def test_segmentation_loss_prefers_the_truth(mode: str, channels: int) -> None:
    masks = torch.zeros(1, min(channels, 2), 8, 8, dtype=torch.uint8)
    masks[0, 0, 4:] = 1
    if masks.shape[1] == 2:
        masks[0, 1, 4:, 3:5] = 1
        if mode == "multiclass":
            masks[0, 0, 4:, 3:5] = 0
    target = masks.float() if mode != "multiclass" else None
    if mode == "multiclass":
        target = torch.cat([1 - masks.amax(1, keepdim=True), masks], 1).float()
    right = (target * 2 - 1) * 12
    wrong = -right
    good = segmentation_loss(right.requires_grad_(), masks, mode)
    bad = segmentation_loss(wrong, masks, mode)
    assert good.item() < 0.01 < bad.item()
    good.backward()
    assert torch.isfinite(right.grad).all()
