"""Run the user-facing Pipeline over validation frames and stream every metric of §4."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from torch.utils.data import DataLoader
from tqdm import tqdm

from ..data.dataset import ValDataset, collate_frames
from ..pipeline import Pipeline
from ..postprocess import segmentation_labels
from .detection import DetectionAccumulator
from .segmentation import SegmentationAccumulator


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


def evaluate(
    pipeline: Pipeline,
    dataset: ValDataset,
    batch_size: int = 4,
    workers: int = 0,
    progress: bool = True,
) -> Evaluation:
    """Boxes through `pipeline.postprocess` (source pixels), masks at network resolution."""
    config = pipeline.config
    detection = DetectionAccumulator(config.num_classes)
    segmentation = SegmentationAccumulator(config.seg_list, config.seg_mode)
    loader = DataLoader(
        dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_frames
    )
    for frames in tqdm(loader, desc="val", unit="batch", disable=not progress):
        batch, letterboxes = pipeline.preprocess([frame.image for frame in frames], "bgr")
        outputs = pipeline.forward(batch)
        results = pipeline.postprocess(outputs, letterboxes)
        for index, (frame, result) in enumerate(zip(frames, results)):
            detection.update(
                result.boxes, result.scores, result.class_ids, frame.boxes, frame.classes
            )
            labels = segmentation_labels(outputs[2][index], config.seg_mode)
            segmentation.update(labels, frame.masks, letterboxes[index].content_slice)
    metrics = detection.compute(config.obj_list)
    curves, confusion = metrics.pop("pr_curves"), metrics.pop("confusion")
    summary = {
        "images": len(dataset),
        "conf_threshold": pipeline.conf_threshold,
        "iou_threshold": pipeline.iou_threshold,
        "max_detections": pipeline.max_detections,
        "input_size": list(pipeline.input_size),
        "detection": metrics,
        "segmentation": segmentation.compute(),
    }
    return Evaluation(summary, curves, confusion)
