"""Offline replay: every camera frame of a bag through the Pipeline, outputs into a new bag,
val's metrics when labels exist, and per-frame timings for the report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..errors import ConfigError, InputError
from ..evaluation import Evaluation
from ..ground import CameraIntrinsics
from ..msgcodec import compressed_to_array, image_to_array
from ..pipeline import Pipeline
from ..postprocess import segmentation_labels
from . import messages
from .labels import LabelSource
from .metrics import BagMetrics, pipeline_settings
from .outputs import NODE_NAME, GroundSettings, OutputTopics
from .reader import BagReader
from .writer import BagWriter

IMAGE_TYPES = (messages.IMAGE, messages.COMPRESSED_IMAGE)


def camera_info_topic(image_topic: str) -> str:
    """The camera_info beside an image topic: /cam/image_raw[/compressed] -> /cam/camera_info."""
    base = image_topic.removesuffix("/compressed").rstrip("/")
    parent = base.rsplit("/", 1)[0]
    return f"{parent}/camera_info"


def decode_image(msg: Any, msgtype: str) -> tuple[np.ndarray, str]:
    """Pixels and colour order of an Image or CompressedImage message."""
    if msgtype == messages.COMPRESSED_IMAGE:
        return compressed_to_array(msg), "bgr"
    return image_to_array(msg)


@dataclass(frozen=True)
class ReplayOptions:
    """What to read, how to batch, and the node settings that shape the outputs."""

    image_topic: str
    camera_info: str | None = None  # None: the topic beside the images, if the bag has it
    # fx, fy, cx, cy for frames without a valid camera_info (the node's camera.f*/c*)
    fallback_intrinsics: tuple[float, float, float, float] | None = None
    ground: GroundSettings = field(default_factory=GroundSettings)
    node: str = NODE_NAME
    batch_size: int = 4
    fmt: str = "mcap"


@dataclass
class FrameRecord:
    """One processed frame: times (ns), detection count and stage timings (ms per frame)."""

    index: int
    stamp_ns: int
    log_ns: int
    detections: int
    labelled: bool
    timings: dict[str, float]


@dataclass
class ReplayResult:
    """Everything the report needs."""

    bag: Path
    output: Path
    image_topic: str
    image_type: str
    frames: list[FrameRecord]
    skipped: list[tuple[int, str]]
    output_counts: dict[str, int]
    label_source: str | None
    evaluation: Evaluation | None
    wall_s: float
    camera_info: str | None
    invalid_camera_info: int


@dataclass
class _Pending:
    index: int
    log_ns: int
    header: Any
    image: np.ndarray
    color: str
    decode_ms: float
    intrinsics: CameraIntrinsics | None


class _Replay:
    """State of one run: the output bag, metrics, the current calibration and the batch."""

    def __init__(
        self,
        pipeline: Pipeline,
        outputs: OutputTopics,
        labels: LabelSource | None,
        metrics: BagMetrics | None,
        scorer: Pipeline | None,
        batch_size: int,
    ) -> None:
        self.pipeline = pipeline
        self.outputs = outputs
        self.labels = labels
        self.metrics = metrics
        self.scorer = scorer
        self.batch_size = batch_size
        self.pending: list[_Pending] = []
        self.records: list[FrameRecord] = []

    def add(self, frame: _Pending) -> None:
        """Queue a decoded frame; run the batch when full or when the colour order changes."""
        if self.pending and self.pending[0].color != frame.color:
            self.flush()
        self.pending.append(frame)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Run the queued frames in one forward pass and write their outputs and metrics."""
        if not self.pending:
            return
        frames, self.pending = self.pending, []
        start = time.perf_counter()
        batch, letterboxes = self.pipeline.preprocess([f.image for f in frames], frames[0].color)
        preprocessed = time.perf_counter()
        outputs = self.pipeline.forward(batch)
        forwarded = time.perf_counter()
        results = self.pipeline.postprocess(outputs, letterboxes)
        done = time.perf_counter()
        shared = {
            "preprocess": (preprocessed - start) * 1000 / len(frames),
            "forward": (forwarded - preprocessed) * 1000 / len(frames),
            "postprocess": (done - forwarded) * 1000 / len(frames),
        }
        scored = None
        if self.metrics is not None and self.scorer is not None:
            scored = self.scorer.postprocess(outputs, letterboxes)
        for position, (frame, result) in enumerate(zip(frames, results)):
            begin = time.perf_counter()
            self.outputs.write(result, frame.header, frame.log_ns, frame.intrinsics)
            output_ms = (time.perf_counter() - begin) * 1000
            stamp = messages.stamp_ns(frame.header)
            labels = None
            if self.labels is not None:
                labels = self.labels.get(frame.index, stamp, letterboxes[position])
            if labels is not None and scored is not None:
                predicted = segmentation_labels(outputs[2][position], self.pipeline.config.seg_mode)
                self.metrics.update(scored[position], predicted, letterboxes[position], labels)
            timings = {"decode": frame.decode_ms, **shared, "output": output_ms}
            self.records.append(
                FrameRecord(
                    frame.index, stamp, frame.log_ns, len(result), labels is not None, timings
                )
            )


def follow_camera_info(bag: BagReader, image_topic: str, asked: str | None) -> str | None:
    """The camera_info topic to follow: the one asked for (must exist), else the sibling if any."""
    if asked is not None:
        bag.require(asked, (messages.CAMERA_INFO,))
        return asked
    sibling = camera_info_topic(image_topic)
    return sibling if bag.topics.get(sibling) == messages.CAMERA_INFO else None


def _fallback(options: ReplayOptions, shape: tuple[int, ...]) -> CameraIntrinsics | None:
    """Intrinsics from the options for an image of this shape, when given."""
    if options.fallback_intrinsics is None:
        return None
    return CameraIntrinsics(*options.fallback_intrinsics, width=shape[1], height=shape[0])


def replay_bag(
    bag: BagReader,
    pipeline: Pipeline,
    out: Path,
    options: ReplayOptions,
    labels: LabelSource | None = None,
    scorer: Pipeline | None = None,
    progress: bool = True,
) -> ReplayResult:
    """Run every frame of `options.image_topic`; write the node's outputs to a new bag at `out`.

    `scorer` (val's thresholds, sharing the pipeline's runtime) scores labelled frames.
    """
    if options.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {options.batch_size}")
    image_type = bag.require(options.image_topic, IMAGE_TYPES)
    info_topic = follow_camera_info(bag, options.image_topic, options.camera_info)
    metrics = None
    if labels is not None and scorer is not None:
        metrics = BagMetrics(scorer.config, pipeline_settings(scorer))
    skipped: list[tuple[int, str]] = []
    start = time.perf_counter()
    topics = [options.image_topic] + ([info_topic] if info_topic else [])
    with BagWriter(out, options.fmt) as writer:
        outputs = OutputTopics(writer, options.ground, options.node)
        run = _Replay(pipeline, outputs, labels, metrics, scorer, options.batch_size)
        camera: CameraIntrinsics | None = None
        index = invalid_info = 0
        bar = tqdm(
            total=bag.counts[options.image_topic],
            desc="bag-eval",
            unit="frame",
            disable=not progress,
        )
        with bar:
            for topic, log_ns, msg in bag.messages(topics):
                if topic == info_topic:
                    try:
                        camera = messages.intrinsics_from_camera_info(msg)
                    except ConfigError:  # e.g. an uncalibrated camera's all-zero K: as the node
                        invalid_info += 1
                    continue
                begin = time.perf_counter()
                try:
                    image, color = decode_image(msg, image_type)
                except InputError as exc:
                    skipped.append((index, str(exc)))
                else:
                    decode_ms = (time.perf_counter() - begin) * 1000
                    intrinsics = camera or _fallback(options, image.shape)
                    run.add(
                        _Pending(index, log_ns, msg.header, image, color, decode_ms, intrinsics)
                    )
                index += 1
                bar.update()
            run.flush()
    return ReplayResult(
        bag=bag.path,
        output=out,
        image_topic=options.image_topic,
        image_type=image_type,
        frames=run.records,
        skipped=skipped,
        output_counts=outputs.counts,
        label_source=labels.description if labels is not None else None,
        evaluation=metrics.evaluation() if metrics is not None and metrics.images else None,
        wall_s=time.perf_counter() - start,
        camera_info=info_topic,
        invalid_camera_info=invalid_info,
    )
