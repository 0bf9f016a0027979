"""Validation metrics exactly as the paper reports them, streamed with bounded memory."""

from .average_precision import average_precision
from .detection import (
    PROTOCOLS,
    DetectionAccumulator,
    interpolated_ap,
    match_detections,
    match_detections_paper,
)
from .evaluator import Evaluation, MetricsAccumulator, detection_record, evaluate
from .report import format_summary, write_report
from .segmentation import SegmentationAccumulator, balanced_accuracy, iou

__all__ = [
    "PROTOCOLS",
    "DetectionAccumulator",
    "Evaluation",
    "MetricsAccumulator",
    "SegmentationAccumulator",
    "average_precision",
    "balanced_accuracy",
    "detection_record",
    "evaluate",
    "format_summary",
    "interpolated_ap",
    "iou",
    "match_detections",
    "match_detections_paper",
    "write_report",
]
