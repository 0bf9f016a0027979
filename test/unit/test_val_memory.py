"""`evaluate` with every box kept (the paper protocol) in memory that does not grow with images."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest
import torch
from dataset_fixtures import make_dataset, write_project

from hybridnets_core import HybridNets
from hybridnets_core.data import ValDataset, checked_samples, load_project
from hybridnets_core.evaluation import evaluate
from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.settings import DetectionSettings

IMAGES = 40


def traced_peak(pipeline: Pipeline, dataset: ValDataset) -> tuple[int, int]:
    """Peak of the Python and numpy memory allocated while evaluating, and the boxes kept."""
    gc.collect()
    tracemalloc.start()
    try:
        evaluation = evaluate(pipeline, dataset, batch_size=4, workers=0, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, evaluation.summary["detection"]["detections"]


def test_uncapped_validation_memory_does_not_grow_with_images(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "data", train=0, val=IMAGES, seed=5)
    project = load_project(write_project(tmp_path / "project.yaml"), root)
    config = project.model_config(0, (128, 256))
    torch.manual_seed(0)  # a random network scores nearly every anchor above 0.001
    model = HybridNets.from_config(config)
    detection = DetectionSettings(conf_threshold=0.001, iou_threshold=0.6, max_detections=0)
    pipeline = Pipeline.from_model(model, config, detection=detection)
    samples, _ = checked_samples(project, "val", False, 1)
    multiclass = config.seg_mode == "multiclass"
    few = ValDataset(samples[: IMAGES // 4], pipeline.transform, multiclass)
    every = ValDataset(samples, pipeline.transform, multiclass)
    few_peak, few_boxes = traced_peak(pipeline, few)
    every_peak, every_boxes = traced_peak(pipeline, every)
    # past the exact top (65,536 per class), so the score grid holds the rest
    assert every_boxes > 65_536 and every_boxes > 3 * few_boxes
    assert every_peak <= few_peak * 1.15, (few_peak, every_peak)


@pytest.fixture(autouse=True)
def one_thread() -> None:
    """Keep the random network's forward cheap next to other tests."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
