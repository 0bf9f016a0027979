"""Outputs of a raw graph (torch or a raw ONNX export), decoded when the Pipeline reads them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..decoding.postprocess import encode_labels, select_detections
from ..model.anchors import anchors_for
from ..model.config import ModelConfig
from ..settings import DetectionSettings
from .base import NetworkDetections

NetworkOutputs = tuple[np.ndarray, np.ndarray, np.ndarray]  # regression, classification, seg


class RawOutputs:
    """(regression, classification, segmentation logits) of a batch plus the thresholds sets.

    Decoding and NMS run on first read, once per set, so one forward pass serves every set
    and the work lands in the Pipeline's postprocess stage, not in its forward stage.
    """

    def __init__(
        self, outputs: NetworkOutputs, config: ModelConfig, thresholds: Sequence[DetectionSettings]
    ) -> None:
        self.regression, self.classification, self.segmentation = outputs
        self.config = config
        self.thresholds = tuple(thresholds)
        self.network_size = (int(self.segmentation.shape[2]), int(self.segmentation.shape[3]))
        self._decoded: dict[int, list[NetworkDetections]] = {}
        self._labels: np.ndarray | None = None

    def detections(self, which: int) -> list[NetworkDetections]:
        if which not in self._decoded:
            anchors = anchors_for(self.config, self.network_size)
            settings = self.thresholds[which]
            self._decoded[which] = [
                NetworkDetections(
                    *select_detections(regression, scores, anchors, self.network_size, settings)
                )
                for regression, scores in zip(self.regression, self.classification, strict=True)
            ]
        return self._decoded[which]

    def seg_labels(self) -> np.ndarray:
        if self._labels is None:
            self._labels = encode_labels(self.segmentation, self.config.seg_mode)
        return self._labels
