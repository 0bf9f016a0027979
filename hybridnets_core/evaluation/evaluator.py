"""Run the user-facing Pipeline over validation frames and stream every metric of §4."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from ..data.truth import FrameTruth
from ..inference.pipeline import Pipeline
from ..inference.results import Detections
from ..model.config import ModelConfig
from ..settings import DetectionSettings
from .detection import DetectionAccumulator
from .segmentation import SegmentationAccumulator

if TYPE_CHECKING:
    from ..data.dataset import ValDataset


@dataclass
class Evaluation:
    """Metrics of one validation run; `summary` is JSON-ready, curves feed the plots."""

    summary: dict[str, Any]
    pr_curves: Any
    confusion: Any

    @property
    def fitness(self) -> float:
        """Mean of mAP50, drivable mIoU and lane IoU (paper protocol): picks `best.pth`."""
        seg = self.summary["segmentation"]["paper"]
        parts = [self.summary["detection"]["mAP50"], seg.get("drivable_miou"), seg.get("lane_iou")]
        values = [v for v in parts if v is not None and not math.isnan(v)]
        return float(sum(values) / len(values)) if values else 0.0


class MetricsAccumulator:
    """Val's metrics fed frame by frame (val, bag replay and scoring of published outputs).

    `record` is what the report states about how the detections were made (thresholds, input
    size); every frame brings detections in source pixels and bool label maps [C, H, W] at
    network size, scored against truth in the same frames. `protocol` names the detection
    metric definitions ("paper" or "coco"); segmentation reports both its variants.
    """

    def __init__(self, config: ModelConfig, record: dict[str, Any], protocol: str) -> None:
        self.config = config
        self.record = {**record, "protocol": protocol}
        self.detection = DetectionAccumulator(config.num_classes, protocol)
        self.segmentation = SegmentationAccumulator(config.seg_list, config.seg_mode)
        self.images = 0

    def update(
        self,
        detections: Detections,
        labels: np.ndarray,
        content: tuple[slice, slice],
        truth: FrameTruth,
    ) -> None:
        """Add one frame: predictions and its truth (boxes in source pixels, network masks)."""
        self.detection.update(
            detections.boxes, detections.scores, detections.class_ids, truth.boxes, truth.classes
        )
        self.segmentation.update(labels, truth.masks, content)
        self.images += 1

    def evaluation(self) -> Evaluation:
        """The summary, PR curves and confusion matrix of the frames so far."""
        metrics = self.detection.compute(self.config.obj_list)
        curves, confusion = metrics.pop("pr_curves"), metrics.pop("confusion")
        summary = {
            "images": self.images,
            **self.record,
            "detection": metrics,
            "segmentation": self.segmentation.compute(),
        }
        return Evaluation(summary, curves, confusion)


def detection_record(settings: DetectionSettings, input_size: tuple[int, int]) -> dict[str, Any]:
    """The thresholds and input size a metrics report records."""
    return {
        "conf_threshold": settings.conf_threshold,
        "iou_threshold": settings.iou_threshold,
        "max_detections": settings.max_detections,
        "input_size": list(input_size),
    }


def evaluate(
    pipeline: Pipeline,
    dataset: ValDataset,
    batch_size: int = 4,
    workers: int = 0,
    progress: bool = True,
    protocol: str = "paper",
) -> Evaluation:
    """Detections of `pipeline` (its thresholds; source pixels) against the frames' boxes, and
    its network-resolution labels against the letterboxed truth masks."""
    metrics = MetricsAccumulator(
        pipeline.config, detection_record(pipeline.detection, pipeline.input_size), protocol
    )
    from torch.utils.data import DataLoader  # torch only to stream a dataset

    from ..data.dataset import collate_frames

    loader = DataLoader(
        dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_frames
    )
    for frames in tqdm(loader, desc="val", unit="batch", disable=not progress):
        results = pipeline.run_batch([frame.image for frame in frames], "bgr")
        for frame, result in zip(frames, results):
            content = result.letterbox.content_slice
            metrics.update(result.detections, result.label_maps, content, frame)
    return metrics.evaluation()
