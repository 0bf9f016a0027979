"""Every runtime (torch, raw ONNX, end-to-end ONNX) keeps the one runtime contract, and the
Pipeline's per-call `detection` thresholds replace its own for that call only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from export_fixtures import end2end_export, raw_export, varied_checkpoint  # noqa: F401

from hybridnets_core.inference.pipeline import Pipeline
from hybridnets_core.media import read_image
from hybridnets_core.runtime.base import NetworkDetections
from hybridnets_core.settings import DetectionSettings

LOOSE = DetectionSettings(conf_threshold=0.05, iou_threshold=0.5, max_detections=50)
STRICT = DetectionSettings(conf_threshold=0.05, iou_threshold=0.2, max_detections=3)


@pytest.fixture(params=["torch", "raw", "end2end"])
def pipeline(
    request: pytest.FixtureRequest,
    varied_checkpoint: Path,  # noqa: F811
    raw_export: Path,  # noqa: F811
    end2end_export: Path,  # noqa: F811
) -> Pipeline:
    """A Pipeline on each kind of runtime, all from the same weights, at LOOSE thresholds."""
    if request.param == "torch":
        return Pipeline.from_weights(varied_checkpoint, detection=LOOSE)
    export = raw_export if request.param == "raw" else end2end_export
    return Pipeline.from_weights(export, backend="onnxruntime", detection=LOOSE)


def same_detections(a, b) -> None:
    np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)
    np.testing.assert_array_equal(a.class_ids, b.class_ids)


def test_runtime_attributes_and_run(pipeline: Pipeline, dashcam_paths: list[Path]) -> None:
    """The declared attributes exist with their types; `run` gives per image and per
    thresholds set detections, sorted by score within each set's limits, and uint8 labels."""
    runtime = pipeline.runtime
    assert isinstance(runtime.name, str) and isinstance(runtime.device, str)
    assert runtime.provider is None or isinstance(runtime.provider, str)
    assert runtime.config is pipeline.config or runtime.config == pipeline.config
    assert runtime.fixed_input_size in (None, pipeline.input_size)
    assert isinstance(runtime.end_to_end, bool)
    images = [read_image(path) for path in dashcam_paths[:2]]
    batch, _ = pipeline.transform.batch(images, "bgr")
    outputs = runtime.run(batch, (LOOSE, STRICT))
    for which, settings in enumerate((LOOSE, STRICT)):
        per_image = outputs.detections(which)
        assert len(per_image) == len(images)
        for found in per_image:
            assert isinstance(found, NetworkDetections)
            assert found.boxes.shape == (len(found.scores), 4) and found.boxes.dtype == np.float32
            assert (found.scores > settings.conf_threshold).all()
            assert len(found.scores) <= settings.max_detections
            assert (np.diff(found.scores) <= 0).all()
    loose, strict = outputs.detections(0), outputs.detections(1)
    assert sum(len(d.scores) for d in loose) > sum(len(d.scores) for d in strict) > 0
    labels = outputs.seg_labels()
    assert labels.dtype == np.uint8 and len(labels) == len(images)
    assert labels.shape[-2:] == pipeline.input_size


def test_detection_per_call_replaces_the_pipelines_for_that_call(
    pipeline: Pipeline, dashcam_paths: list[Path]
) -> None:
    """`pipeline(image, detection=S)` equals a Pipeline built with S; the Pipeline's own
    thresholds stay as they were, for the next call and for the staged batch methods."""
    image = read_image(dashcam_paths[0])
    default = pipeline(image)
    strict = pipeline(image, detection=STRICT)
    assert pipeline.detection == LOOSE
    assert 0 < len(strict) < len(default)
    assert (strict.scores > STRICT.conf_threshold).all() and len(strict) <= STRICT.max_detections
    built_strict = Pipeline(pipeline.runtime, pipeline.config, detection=STRICT)
    same_detections(strict, built_strict(image))
    same_detections(pipeline(image), default)
    # The node's stages: thresholds given to prepare travel with the batch, infer's win.
    prepared = pipeline.prepare([image], "bgr", detection=STRICT)
    same_detections(pipeline.finish(pipeline.infer(prepared))[0], strict)
    same_detections(pipeline.finish(pipeline.infer(prepared, detection=LOOSE))[0], default)
    same_detections(pipeline.run_batch([image], "bgr", detection=STRICT)[0], strict)


def test_scoring_set_comes_with_the_per_call_thresholds(
    pipeline: Pipeline, dashcam_paths: list[Path]
) -> None:
    """With a scoring set, `scored` keeps the scoring thresholds whatever `detection` says."""
    scoring = Pipeline(pipeline.runtime, pipeline.config, detection=STRICT, scoring=STRICT)
    image = read_image(dashcam_paths[0])
    result = scoring(image, detection=LOOSE)
    assert result.scored is not None and len(result.scored) < len(result.detections)
    same_detections(result.detections, pipeline(image))
    same_detections(result.scored, pipeline(image, detection=STRICT))
