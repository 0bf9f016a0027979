"""Validation metrics exactly as the paper reports them, streamed with bounded memory."""

from .detection import DetectionAccumulator, interpolated_ap, match_detections
from .evaluator import Evaluation, MetricsAccumulator, detection_record, evaluate
from .report import format_summary, write_report
from .segmentation import SegmentationAccumulator, balanced_accuracy, iou

__all__ = [
    "DetectionAccumulator",
    "Evaluation",
    "MetricsAccumulator",
    "SegmentationAccumulator",
    "balanced_accuracy",
    "detection_record",
    "evaluate",
    "format_summary",
    "interpolated_ap",
    "iou",
    "match_detections",
    "write_report",
]
