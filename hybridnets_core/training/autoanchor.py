"""Anchor scales and ratios fitted to a dataset's boxes: k-means, then evolution."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..data import ProjectConfig, checked_samples
from ..data.scan import Sample
from ..inference.letterbox import Letterbox
from ..model.anchors import ANCHOR_SCALE
from .assign import POSITIVE_IOU, SMALL_BOX_AREA, SMALL_POSITIVE_IOU

MAX_BOXES = 20000
KMEANS_ITERATIONS = 30
GENERATIONS = 300
MUTATION_SIGMA = 0.1


@dataclass(frozen=True)
class AnchorSet:
    """Anchor scales and (x, y) ratios in the project-file form."""

    scales: tuple[float, ...]
    ratios: tuple[tuple[float, float], ...]

    def yaml_lines(self) -> str:
        scales = ", ".join(f"2**{np.log2(s):.2f}" for s in self.scales)
        ratios = ", ".join(f"({x:.2f}, {y:.2f})" for x, y in self.ratios)
        return f"anchors_scales: '[{scales}]'\nanchors_ratios: '[{ratios}]'"


def box_sizes(samples: Sequence[Sample], input_size: tuple[int, int]) -> np.ndarray:
    """Width and height [M, 2] of every box in network pixels (after letterboxing)."""
    sizes = [
        (s.boxes[:, 2:] - s.boxes[:, :2]) * Letterbox.fit(s.size, input_size).scale
        for s in samples
        if len(s.boxes)
    ]
    return np.concatenate(sizes) if sizes else np.zeros((0, 2))


def anchor_shapes(anchors: AnchorSet, strides: Sequence[int]) -> np.ndarray:
    """Width and height [A, 2] of every anchor of every level, as generate_anchors makes them."""
    return np.array(
        [
            (ANCHOR_SCALE * stride * scale * rx, ANCHOR_SCALE * stride * scale * ry)
            for stride in strides
            for scale in anchors.scales
            for rx, ry in anchors.ratios
        ]
    )


def best_shape_iou(sizes: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """Per box, the best IoU with any anchor shape when both share one centre."""
    inter = np.minimum(sizes[:, None, 0], shapes[None, :, 0]) * np.minimum(
        sizes[:, None, 1], shapes[None, :, 1]
    )
    union = sizes.prod(1)[:, None] + shapes.prod(1)[None, :] - inter
    return (inter / union).max(axis=1)


def best_possible_recall(sizes: np.ndarray, anchors: AnchorSet, strides: Sequence[int]) -> float:
    """Share of boxes some anchor shape could match at the training IoU thresholds."""
    if not len(sizes):
        return 0.0
    needed = np.where(sizes.prod(1) < SMALL_BOX_AREA, SMALL_POSITIVE_IOU, POSITIVE_IOU)
    return float((best_shape_iou(sizes, anchor_shapes(anchors, strides)) >= needed).mean())


def _fitness(sizes: np.ndarray, anchors: AnchorSet, strides: Sequence[int]) -> float:
    return float(best_shape_iou(sizes, anchor_shapes(anchors, strides)).mean())


def _kmeans_1d(values: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted centres of k clusters of scalar values."""
    centres = np.quantile(values, (np.arange(k) + 0.5) / k) + rng.normal(0, 1e-6, k)
    for _ in range(KMEANS_ITERATIONS):
        nearest = np.abs(values[:, None] - centres[None]).argmin(axis=1)
        centres = np.array(
            [values[nearest == i].mean() if (nearest == i).any() else centres[i] for i in range(k)]
        )
    return np.sort(centres)


def fit_anchors(
    sizes: np.ndarray, start: AnchorSet, strides: Sequence[int], seed: int = 0
) -> AnchorSet:
    """k-means of log aspect ratios and of size within an octave, then random mutations kept
    when the mean best shape IoU improves; never worse than `start`."""
    rng = np.random.default_rng(seed)
    if len(sizes) > MAX_BOXES:
        sizes = sizes[rng.choice(len(sizes), MAX_BOXES, replace=False)]
    sizes = sizes[(sizes > 0).all(axis=1)]
    if len(sizes) < max(len(start.scales), len(start.ratios)):
        return start
    aspects = np.exp(_kmeans_1d(np.log(sizes[:, 0] / sizes[:, 1]), len(start.ratios), rng))
    octave = np.log2(np.sqrt(sizes.prod(1)) / (ANCHOR_SCALE * strides[0])) % 1.0
    scales = 2.0 ** _kmeans_1d(octave, len(start.scales), rng)
    candidate = AnchorSet(
        tuple(scales),
        tuple((float(np.sqrt(a)), float(1 / np.sqrt(a))) for a in aspects),
    )
    best = max((start, candidate), key=lambda a: _fitness(sizes, a, strides))
    best_score = _fitness(sizes, best, strides)
    for _ in range(GENERATIONS):
        factors = rng.normal(1.0, MUTATION_SIGMA, len(best.scales) + 2 * len(best.ratios))
        factors = np.clip(factors, 0.5, 1.5)
        scales = np.array(best.scales) * factors[: len(best.scales)]
        ratios = np.array(best.ratios) * factors[len(best.scales) :].reshape(-1, 2)
        mutant = AnchorSet(tuple(np.sort(scales)), tuple(map(tuple, ratios)))
        score = _fitness(sizes, mutant, strides)
        if score > best_score:
            best, best_score = mutant, score
    return AnchorSet(
        tuple(float(s) for s in best.scales),
        tuple((float(x), float(y)) for x, y in best.ratios),
    )


def tune_anchors(
    project: ProjectConfig,
    compound_coef: int,
    input_size: tuple[int, int] | None,
    skip_invalid: bool,
    max_images: int | None = None,
    seed: int = 0,
) -> tuple[AnchorSet, str]:
    """Fitted anchors for the project's training split and a report of the recall change."""
    config = project.model_config(compound_coef, input_size)
    samples, _ = checked_samples(
        project, project.require_paths().train_split, skip_invalid, 4, max_images
    )
    sizes = box_sizes(samples, config.input_size)
    start = AnchorSet(config.anchor_scales, config.anchor_ratios)
    fitted = fit_anchors(sizes, start, config.strides, seed)
    before = best_possible_recall(sizes, start, config.strides)
    after = best_possible_recall(sizes, fitted, config.strides)
    report = (
        f"{len(sizes)} boxes: best possible recall {before:.4f} with the project's anchors, "
        f"{after:.4f} with these:\n{fitted.yaml_lines()}"
    )
    return fitted, report
