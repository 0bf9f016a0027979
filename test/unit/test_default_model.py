"""The built-in default model: shipped, small, loaded when no weights are given, and trained."""

from __future__ import annotations

import numpy as np

from hybridnets_core import Pipeline
from hybridnets_core.decoding.boxes import box_iou
from hybridnets_core.model.checkpoint import BUILTIN_WEIGHTS, default_weights_path
from hybridnets_core.synth import render_scene

SCENES = range(900, 910)  # rendered on the fly; not among the training images
MIN_AREA = 400  # px², boxes too small to ask of a coef-0 network at 384x256


def test_default_model_is_shipped_and_small() -> None:
    assert default_weights_path() == BUILTIN_WEIGHTS
    assert BUILTIN_WEIGHTS.stat().st_size <= 12 * 1024 * 1024


def test_default_model_sees_cars_and_road_in_synthetic_scenes() -> None:
    pipeline = Pipeline.from_weights(None)
    assert (pipeline.config.compound_coef, pipeline.class_names) == (0, ["car"])
    found, wanted, road_ious = 0, 0, []
    for seed in SCENES:
        scene = render_scene(seed, size=(640, 360))
        result = pipeline(scene.image)
        truth = np.array([[b.x1, b.y1, b.x2, b.y2] for b in scene.boxes], np.float32)
        truth = truth.reshape(-1, 4)
        truth = truth[(truth[:, 2] - truth[:, 0]) * (truth[:, 3] - truth[:, 1]) > MIN_AREA]
        wanted += len(truth)
        if len(truth) and len(result):
            found += int((box_iou(truth, result.boxes).max(axis=1) > 0.5).sum())
        road = scene.drivable > 0
        road_ious.append((road & result.drivable).sum() / (road | result.drivable).sum())
    # On these scenes the shipped model finds 18 of 18 boxes with mean road IoU 0.850 (CPU; its
    # held-out numbers are recall 0.864, drivable mIoU 0.950 over 300 scenes): a small margin
    # below, so a regression trips the bounds.
    assert wanted > 10
    assert found / wanted >= 0.85, (found, wanted)
    assert np.mean(road_ious) >= 0.82, road_ious
