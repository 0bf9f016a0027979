"""Metrics of what the node published (offline output bag or live recording), per stamp.

Scores the messages themselves: detections at the node's thresholds and source-resolution
masks letterboxed back to the network size. An offline run and a live run that dropped no
frame therefore score identically; val's protocol (conf 0.001, network logits) is separate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..evaluation import Evaluation, MetricsAccumulator
from ..inference.letterbox import Letterbox
from ..inference.results import Detections
from ..model.config import ModelConfig
from ..outputs import messages
from ..outputs.codec import image_to_array
from .labels import LabelSource, mask_topic
from .reader import BagReader


def _published(
    found: dict[str, Any], detections: str, masks: list[str], names: list[str]
) -> tuple[Detections, np.ndarray]:
    """Detections of known classes and source-size bool masks [C, H, W] of one stamp."""
    boxes, scores, classes = messages.detections_from_msg(found[detections])
    known = [i for i, name in enumerate(classes) if name in names]
    stacked = np.stack([image_to_array(found[topic])[0][:, :, 0] > 0 for topic in masks])
    published = Detections(
        boxes=boxes[known].astype(np.float32),
        scores=scores[known].astype(np.float32),
        class_ids=np.array([names.index(classes[i]) for i in known], np.int64),
    )
    return published, stacked


def score_output_bag(
    path: Path,
    node: str,
    config: ModelConfig,
    labels: LabelSource,
    frame_index: dict[int, int],
    record: dict[str, Any],
    protocol: str,
) -> Evaluation | None:
    """Score each stamp of `frame_index` (stamp -> frame index) that has all outputs; None if
    no output frame is labelled. `record` states the node's thresholds for the report."""
    node = node.rstrip("/")
    detections = f"{node}/detections"
    masks = [mask_topic(node, name) for name in config.seg_list]
    metrics = MetricsAccumulator(config, record, protocol)
    pending: dict[int, dict[str, Any]] = {}
    with BagReader(path) as bag:
        for topic, _, msg in bag.messages([detections, *masks]):
            stamp = messages.stamp_ns(msg.header)
            found = pending.setdefault(stamp, {})
            found[topic] = msg
            if len(found) < 1 + len(masks) or stamp not in frame_index:
                continue
            found = pending.pop(stamp)
            published, source_masks = _published(found, detections, masks, config.obj_list)
            letterbox = Letterbox.fit(source_masks.shape[1:], config.input_size)
            truth = labels.get(frame_index[stamp], stamp, letterbox)
            if truth is not None:
                predicted = letterbox.masks_to_network(source_masks, labels=False)
                metrics.update(published, predicted, letterbox.content_slice, truth)
    return metrics.evaluation() if metrics.images else None
