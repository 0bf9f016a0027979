"""Training losses of the paper: focal + smooth-L1 for detection, Tversky + focal for seg."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..decoding.boxes import encode_boxes
from .assign import assign

FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0
SMOOTH_L1_BETA = 1.0 / 9.0
BOX_WEIGHT = 50.0
TVERSKY_ALPHA = 0.7  # weight of false positives
TVERSKY_BETA = 0.3  # weight of false negatives
TVERSKY_GAMMA = 4.0 / 3.0
PROB_EPS = 1e-4
TVERSKY_SMOOTH = 1.0


def focal_terms(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Element-wise binary focal loss (alpha 0.25, gamma 2) of probabilities against 0/1 targets."""
    probs = probs.clamp(PROB_EPS, 1.0 - PROB_EPS)
    p_true = torch.where(targets > 0, probs, 1.0 - probs)
    alpha = torch.where(targets > 0, FOCAL_ALPHA, 1.0 - FOCAL_ALPHA)
    return -alpha * (1.0 - p_true).pow(FOCAL_GAMMA) * torch.log(p_true)


def detection_losses(
    regression: torch.Tensor,
    classification: torch.Tensor,
    anchors: torch.Tensor,
    boxes: torch.Tensor,
    classes: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(classification focal loss, 50 x smooth-L1 box loss), each normalised by positives and
    averaged over the batch. `classification` holds sigmoid probabilities."""
    regression, classification = regression.float(), classification.float()
    target = assign(anchors.to(boxes.device), boxes, classes)
    one_hot = torch.zeros_like(classification)
    one_hot[target.positive] = F.one_hot(
        target.classes[target.positive], classification.shape[-1]
    ).to(one_hot.dtype)
    counted = (target.positive | target.negative)[..., None]
    num_pos = target.positive.sum(dim=1).clamp(min=1).to(classification.dtype)
    cls_loss = (focal_terms(classification, one_hot) * counted).sum(dim=(1, 2)) / num_pos
    image, anchor = torch.nonzero(target.positive, as_tuple=True)
    deltas = encode_boxes(
        target.boxes[image, anchor].detach().cpu().numpy(), anchors.cpu()[anchor.cpu()].numpy()
    )
    deltas = torch.from_numpy(np.ascontiguousarray(deltas, dtype=np.float32)).to(regression.device)
    per_anchor = F.smooth_l1_loss(
        regression[image, anchor], deltas, beta=SMOOTH_L1_BETA, reduction="none"
    ).sum(dim=1)
    box_sum = torch.zeros(regression.shape[0], device=regression.device).index_add(
        0, image, per_anchor
    )
    box_loss = box_sum / (num_pos * 4)
    return cls_loss.mean(), BOX_WEIGHT * box_loss.mean()


def seg_targets(masks: torch.Tensor, seg_mode: str) -> torch.Tensor:
    """One 0/1 channel per logit channel: multiclass adds the background channel first."""
    masks = masks.float()
    if seg_mode != "multiclass":
        return masks
    background = 1.0 - masks.amax(dim=1, keepdim=True)
    return torch.cat([background, masks], dim=1)


def segmentation_loss(logits: torch.Tensor, masks: torch.Tensor, seg_mode: str) -> torch.Tensor:
    """Focal Tversky (alpha 0.7, beta 0.3, ^4/3, over classes present) + per-channel focal loss."""
    logits = logits.float()
    targets = seg_targets(masks, seg_mode)
    probs = logits.softmax(dim=1) if seg_mode == "multiclass" else logits.sigmoid()
    dims = (0, 2, 3)
    true_pos = (probs * targets).sum(dims)
    false_pos = (probs * (1 - targets)).sum(dims)
    false_neg = ((1 - probs) * targets).sum(dims)
    index = (true_pos + TVERSKY_SMOOTH) / (
        true_pos + TVERSKY_ALPHA * false_pos + TVERSKY_BETA * false_neg + TVERSKY_SMOOTH
    )
    present = targets.sum(dims) > 0
    tversky = ((1 - index).pow(TVERSKY_GAMMA) * present).sum() / present.sum().clamp(min=1)
    focal = focal_terms(logits.sigmoid(), targets).mean(dim=(0, 2, 3)).sum()
    return tversky + focal
