"""The metrics of `hybridnets val`, fed frame by frame from a bag replay.

The accumulators are those of `hybridnets_core.evaluation`. Offline, detections come from a
Pipeline with val's thresholds and masks from the network's labels, exactly as `evaluate`;
for the published outputs (offline or live) from the node's messages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import ModelConfig
from ..evaluation import DetectionAccumulator, Evaluation, SegmentationAccumulator
from ..letterbox import Letterbox
from ..pipeline import Pipeline
from ..results import PerceptionResult
from .labels import FrameLabels


class BagMetrics:
    """Streams labelled frames into val's accumulators; `evaluation()` has val's summary."""

    def __init__(self, config: ModelConfig, settings: dict[str, Any]) -> None:
        self.config = config
        self.settings = settings
        self.detection = DetectionAccumulator(config.num_classes)
        self.segmentation = SegmentationAccumulator(config.seg_list, config.seg_mode)
        self.images = 0

    def update(
        self,
        result: PerceptionResult,
        predicted: np.ndarray,
        letterbox: Letterbox,
        labels: FrameLabels,
    ) -> None:
        """Add one frame: detections in source pixels, bool masks [C, H, W] at network size."""
        self.detection.update(
            result.boxes, result.scores, result.class_ids, labels.boxes, labels.classes
        )
        self.segmentation.update(predicted, labels.masks, letterbox.content_slice)
        self.images += 1

    def evaluation(self) -> Evaluation:
        """The same summary, PR curves and confusion matrix that `evaluate` returns."""
        metrics = self.detection.compute(self.config.obj_list)
        curves, confusion = metrics.pop("pr_curves"), metrics.pop("confusion")
        summary = {
            "images": self.images,
            **self.settings,
            "detection": metrics,
            "segmentation": self.segmentation.compute(),
        }
        return Evaluation(summary, curves, confusion)


def pipeline_settings(pipeline: Pipeline) -> dict[str, Any]:
    """The settings val records with its metrics."""
    return {
        "conf_threshold": pipeline.conf_threshold,
        "iou_threshold": pipeline.iou_threshold,
        "max_detections": pipeline.max_detections,
        "input_size": list(pipeline.input_size),
    }
