"""Anchor fitting: best possible recall by hand, and a fit that helps on skewed boxes."""

from __future__ import annotations

import numpy as np
import pytest
from dataset_fixtures import SYNTHETIC_PROJECT, synthetic_dataset  # noqa: F401 (fixture)

from hybridnets_core.data import load_project
from hybridnets_core.data.numbers import parse_numbers
from hybridnets_core.model.config import BDD_ANCHOR_RATIOS, BDD_ANCHOR_SCALES
from hybridnets_core.training.autoanchor import (
    AnchorSet,
    best_possible_recall,
    fit_anchors,
    tune_anchors,
)

BDD = AnchorSet(BDD_ANCHOR_SCALES, BDD_ANCHOR_RATIOS)


def test_best_possible_recall_by_hand() -> None:
    square = AnchorSet((1.0,), ((1.0, 1.0),))  # one 10x10 anchor at stride 8
    sizes = np.array([[10.0, 10.0], [10.0, 20.0], [5.0, 5.0], [30.0, 30.0]])
    # IoUs 1, 0.5, 0.25 (small box: needs 0.15), 1/9
    assert best_possible_recall(sizes, square, [8]) == pytest.approx(3 / 4)


def test_fit_improves_recall_on_wide_boxes() -> None:
    rng = np.random.default_rng(0)
    heights = rng.uniform(12, 40, 400)
    sizes = np.stack([heights * rng.uniform(7.5, 8.5, 400), heights], axis=1)
    fitted = fit_anchors(sizes, BDD, [8, 16, 32, 64, 128])
    before = best_possible_recall(sizes, BDD, [8, 16, 32, 64, 128])
    after = best_possible_recall(sizes, fitted, [8, 16, 32, 64, 128])
    assert after > before + 0.5
    assert all(x > y for x, y in fitted.ratios)  # wide boxes need wide anchors


def test_tune_anchors_prints_loadable_yaml(synthetic_dataset) -> None:  # noqa: F811
    project = load_project(SYNTHETIC_PROJECT, synthetic_dataset)
    fitted, report = tune_anchors(project, 0, (128, 256), skip_invalid=False)
    assert "best possible recall" in report
    scales_line, ratios_line = report.splitlines()[-2:]
    scales = parse_numbers(scales_line.split(": ", 1)[1].strip("'"), "anchors_scales")
    ratios = parse_numbers(ratios_line.split(": ", 1)[1].strip("'"), "anchors_ratios")
    assert scales == pytest.approx(fitted.scales, abs=0.01)
    assert np.allclose(ratios, fitted.ratios, atol=0.01)
