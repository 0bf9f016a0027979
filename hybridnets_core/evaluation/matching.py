"""Per-image matching of detections to labels and confusion-matrix counts, for both protocols.

paper (HybridNets `val.py` + `utils/utils.py`, YOLOv5's older protocol):
  `process_batch`: one matching at IoU >= 0.5 between same-class pairs. Every detection
  claims its highest-IoU label; every claimed label keeps the claimant that comes first in
  the detection list (the NMS output, i.e. the highest score); the other claimants stay
  unmatched even when another label would have fitted them. A match counts at threshold t
  when its IoU >= t.
  `ConfusionMatrix.process_batch`: detections with score > 0.25, class-agnostic pairs with
  IoU > 0.45, each detection its best label, each label its best detection (both by IoU).
coco: greedy in score order, separately at each threshold, each detection taking the best
  still-unmatched label of its class; confusion at score >= 0.25 and IoU >= 0.5, one-to-one by
  descending IoU.
Exact ties (equal IoU or score) are arbitrary in the reference; here the lower label index,
then the higher score, then the lower detection index wins. IoUs are float64 here (float32
there), which only matters within about 1e-7 of a threshold.
"""

from __future__ import annotations

import numpy as np

from ..decoding.boxes import box_iou

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
PAPER_CONFUSION_CONF = 0.25  # ConfusionMatrix(conf=0.25): score > 0.25
PAPER_CONFUSION_IOU = 0.45  # ConfusionMatrix(iou_thres=0.45): IoU > 0.45
COCO_CONFUSION_CONF = 0.25  # score >= 0.25
COCO_CONFUSION_IOU = 0.5  # IoU >= 0.5


def _class_iou(boxes, classes, gt_boxes, gt_classes) -> np.ndarray:
    """IoU [D, G] in float64, -1 where the classes differ."""
    iou = box_iou(boxes.astype(np.float64), gt_boxes.astype(np.float64))
    iou[classes[:, None] != gt_classes[None, :]] = -1.0
    return iou


def _score_rank(scores: np.ndarray) -> np.ndarray:
    """Position of every detection in score order (descending; ties by index)."""
    rank = np.empty(len(scores), dtype=np.int64)
    rank[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return rank


def match_detections(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    gt_boxes: np.ndarray,
    gt_classes: np.ndarray,
    thresholds: np.ndarray = IOU_THRESHOLDS,
) -> np.ndarray:
    """COCO: true-positive flags [D, T]; in score order each detection takes the unmatched box
    of its class with the highest IoU >= threshold, separately for every IoU threshold."""
    hits = np.zeros((len(boxes), len(thresholds)), dtype=bool)
    if not len(boxes) or not len(gt_boxes):
        return hits
    iou = _class_iou(boxes, classes, gt_boxes, gt_classes)
    taken = np.zeros((len(thresholds), len(gt_boxes)), dtype=bool)
    rows = np.arange(len(thresholds))
    reachable = np.flatnonzero(iou.max(axis=1) >= thresholds.min())
    for det in reachable[np.argsort(-scores[reachable], kind="stable")]:
        candidates = (iou[det][None, :] >= thresholds[:, None]) & ~taken
        best = np.where(candidates, iou[det][None, :], -1.0).argmax(axis=1)
        found = candidates[rows, best]
        hits[det] = found
        taken[rows[found], best[found]] = True
    return hits


def match_detections_paper(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    gt_boxes: np.ndarray,
    gt_classes: np.ndarray,
    thresholds: np.ndarray = IOU_THRESHOLDS,
) -> np.ndarray:
    """Paper (`process_batch`): true-positive flags [D, T] from one matching at the lowest
    threshold (each detection claims its best label, each label keeps its highest-scoring
    claimant); a match is correct at threshold t when its IoU >= t."""
    hits = np.zeros((len(boxes), len(thresholds)), dtype=bool)
    if not len(boxes) or not len(gt_boxes):
        return hits
    iou = _class_iou(boxes, classes, gt_boxes, gt_classes)
    label = iou.argmax(axis=1)
    best_iou = iou[np.arange(len(boxes)), label]
    claimants = np.flatnonzero(best_iou >= thresholds[0])
    by_label = claimants[np.lexsort((_score_rank(scores)[claimants], label[claimants]))]
    first = np.ones(len(by_label), dtype=bool)
    first[1:] = label[by_label][1:] != label[by_label][:-1]
    winners = by_label[first]
    hits[winners] = best_iou[winners, None] >= thresholds[None, :]
    return hits


def _one_to_one(iou: np.ndarray, eligible: np.ndarray, priority: np.ndarray):
    """Pairs (detection, label) by descending IoU, each used once (ties: detection priority,
    then label index), among the eligible [D, G] pairs."""
    det, gt = np.nonzero(eligible)
    order = np.lexsort((gt, priority[det], -iou[det, gt]))
    used_det = np.zeros(iou.shape[0], dtype=bool)
    used_gt = np.zeros(iou.shape[1], dtype=bool)
    pairs = []
    for d, g in zip(det[order], gt[order]):
        if not used_det[d] and not used_gt[g]:
            used_det[d] = used_gt[g] = True
            pairs.append((d, g))
    return pairs, used_det, used_gt


def confusion_update(
    matrix: np.ndarray,
    boxes: np.ndarray,
    classes: np.ndarray,
    gt_boxes: np.ndarray,
    gt_classes: np.ndarray,
) -> None:
    """COCO: add one image to a (C+1)x(C+1) matrix [predicted, true]; index C is background.
    Pairs are matched one-to-one by descending IoU >= 0.5, regardless of class."""
    background = len(matrix) - 1
    iou = box_iou(boxes, gt_boxes) if len(boxes) and len(gt_boxes) else np.zeros((0, 0))
    iou = iou.reshape(len(boxes), len(gt_boxes))
    pairs, used_det, used_gt = _one_to_one(iou, iou >= COCO_CONFUSION_IOU, np.arange(len(boxes)))
    for det, gt in pairs:
        matrix[classes[det], gt_classes[gt]] += 1
    np.add.at(matrix, (classes[~used_det], background), 1)
    np.add.at(matrix, (background, gt_classes[~used_gt]), 1)


def confusion_update_paper(
    matrix: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    gt_boxes: np.ndarray,
    gt_classes: np.ndarray,
) -> None:
    """Paper (`ConfusionMatrix.process_batch` as `val.py` calls it): add one image to a
    (C+1)x(C+1) matrix [predicted, true], index C background.

    Only images with labels and at least one detection count. Detections with score > 0.25
    and labels pair up class-agnostically at IoU > 0.45 (each detection its best label, then
    each label its best detection); unmatched labels go to (background, class); unmatched
    detections go to (class, background) only when the image has at least one match.
    """
    if not len(boxes) or not len(gt_boxes):
        return
    background = len(matrix) - 1
    confident = scores > PAPER_CONFUSION_CONF
    boxes, scores, classes = boxes[confident], scores[confident], classes[confident]
    iou = box_iou(boxes.astype(np.float64), gt_boxes.astype(np.float64))
    iou = iou.reshape(len(boxes), len(gt_boxes))
    eligible = iou > PAPER_CONFUSION_IOU
    label = np.where(eligible, iou, -1.0).argmax(axis=1)
    claims = np.zeros_like(eligible)
    claimants = np.flatnonzero(eligible.any(axis=1))
    claims[claimants, label[claimants]] = True
    pairs, used_det, used_gt = _one_to_one(iou, claims, _score_rank(scores))
    for det, gt in pairs:
        matrix[classes[det], gt_classes[gt]] += 1
    np.add.at(matrix, (background, gt_classes[~used_gt]), 1)
    if pairs:
        np.add.at(matrix, (classes[~used_det], background), 1)
