"""Offline replay: every camera frame of a bag through the Pipeline, the node's outputs (built by
the same `CameraSession` as the live node) into a new bag, val's metrics when labels exist, and
per-frame timings for the report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import ConfigError, InputError
from ..evaluation import Evaluation, MetricsAccumulator, detection_record
from ..inference.pipeline import Pipeline
from ..outputs import messages
from ..outputs.frame import OUTPUT_TYPES, RECORDED_OUTPUTS
from ..outputs.settings import OutputSettings
from ..scene.calibration_check import CalibrationCheckSettings, CalibrationReport
from ..scene.ego_motion import PoseHistory
from ..serving.calibration import CalibrationFeed
from ..serving.session import CameraImage, CameraSession
from ..settings import DetectionSettings
from .agreement import AgreementMetrics, ReferenceRun
from .labels import LabelSource
from .planner_metrics import PlannerMetrics, PlannerTruthTopics, ego_poses
from .reader import BagReader
from .stability import StabilityMetrics
from .typestore import RosbagsFactory
from .writer import BagWriter

NODE_NAME = "/hybridnets_node"
IMAGE_TYPES = (messages.IMAGE, messages.COMPRESSED_IMAGE)


def camera_info_topic(image_topic: str) -> str:
    """The camera_info beside an image topic: /cam/image_raw[/compressed] -> /cam/camera_info."""
    base = image_topic.removesuffix("/compressed").rstrip("/")
    parent = base.rsplit("/", 1)[0]
    return f"{parent}/camera_info"


@dataclass(frozen=True)
class ReplayOptions:
    """What to read, how to batch, and the node's output settings that shape the outputs."""

    image_topic: str
    camera_info: str | None = None  # None: the topic beside the images, if the bag has it
    outputs: OutputSettings = field(default_factory=OutputSettings)
    node: str = NODE_NAME
    batch_size: int = 4
    fmt: str = "mcap"
    gt_prefix: str = "/ground_truth"  # planner truth (objects, ego lane) is looked up here
    calibration: CalibrationCheckSettings = field(default_factory=CalibrationCheckSettings)


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
    planner: PlannerMetrics | None = None
    node_detection: DetectionSettings | None = None  # --live: the running node's thresholds
    agreement: AgreementMetrics | None = None  # --reference: candidate against reference
    stability: StabilityMetrics | None = None  # offline replays: frame-to-frame steadiness
    calibration: CalibrationReport | None = None  # offline replays: the camera pose check


@dataclass(frozen=True)
class _Pending:
    index: int
    log_ns: int
    image: CameraImage


class _Replay:
    """State of one run: the output bag, metrics and the batch being collected."""

    def __init__(
        self,
        pipeline: Pipeline,
        writer: BagWriter,
        options: ReplayOptions,
        labels: LabelSource | None,
        metrics: MetricsAccumulator | None,
        planner_truth: PlannerTruthTopics | None,
        reference: ReferenceRun | None = None,
        poses: PoseHistory | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.writer = writer
        self.node = options.node.rstrip("/")
        self.session = CameraSession(RosbagsFactory(), options.outputs, pipeline.class_names)
        self.labels = labels
        self.metrics = metrics
        self.planner_truth = planner_truth
        self.reference = reference
        self.planner = None
        if planner_truth is not None:
            self.planner = PlannerMetrics(options.outputs, pipeline.class_names)
        self.batch_size = options.batch_size
        self.poses = poses  # the ego pose at each stamp (the bag's TF or odometry), if any
        self.stability = StabilityMetrics()
        self.calibration = CalibrationFeed(options.calibration)
        self.camera_pose = options.outputs.ground.camera
        self.pending: list[_Pending] = []
        self.records: list[FrameRecord] = []
        self.counts: dict[str, int] = {}

    def _write(self, name: str, msgtype: str, log_ns: int, message: Any) -> None:
        topic = f"{self.node}/{name}"
        self.writer.write(topic, msgtype, log_ns, message)
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def add(self, frame: _Pending) -> None:
        """Queue a decoded frame; run the batch when full or when the colour order changes."""
        if self.pending and self.pending[0].image.color != frame.image.color:
            self.flush()
        self.pending.append(frame)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Run the queued frames in one forward pass and write their outputs and metrics."""
        if not self.pending:
            return
        frames, self.pending = self.pending, []
        results = self.pipeline.run_batch([f.image.pixels for f in frames], frames[0].image.color)
        threshold = self.pipeline.detection.conf_threshold
        done_frames = []
        for frame, result in zip(frames, results):
            ground_grid = self.planner is not None or self.poses is not None
            done = self.session.process(
                result, frame.image, RECORDED_OUTPUTS, ground_grid=ground_grid
            )
            done_frames.append(done)
            self.stability.update(done, self.poses.at(done.stamp) if self.poses else None)
            self.calibration.add(self.session, done, self.camera_pose)
            stamp = done.stamp
            for name, message in done.messages.items():
                self._write(name, OUTPUT_TYPES[name], frame.log_ns, message)
            info = self.session.label_info_if_changed(stamp, threshold)
            if info is not None:  # the class map when it changes (once), as the node latches it
                self._write("label_info", messages.LABEL_INFO, frame.log_ns, info)
            if self.planner is not None:
                planner_truth = self.planner_truth.get(stamp)
                if planner_truth is not None:
                    self.planner.update(done, planner_truth)
            truth = None
            if self.labels is not None:
                truth = self.labels.get(frame.index, stamp, result.letterbox)
            if truth is not None and self.metrics is not None and result.scored is not None:
                content = result.letterbox.content_slice
                self.metrics.update(result.scored, result.label_maps, content, truth)
            timings = {"decode": frame.image.decode_ms, **done.timings}
            self.records.append(
                FrameRecord(
                    frame.index, stamp, frame.log_ns, len(result), truth is not None, timings
                )
            )
        if self.reference is not None:
            images = [f.image for f in frames]
            self.reference.compare([f.index for f in frames], images, done_frames)


def follow_camera_info(bag: BagReader, image_topic: str, asked: str | None) -> str | None:
    """The camera_info topic to follow: the one asked for (must exist), else the sibling if any."""
    if asked is not None:
        bag.require(asked, (messages.CAMERA_INFO,))
        return asked
    sibling = camera_info_topic(image_topic)
    return sibling if bag.topics.get(sibling) == messages.CAMERA_INFO else None


def replay_bag(
    bag: BagReader,
    pipeline: Pipeline,
    out: Path,
    options: ReplayOptions,
    labels: LabelSource | None = None,
    progress: bool = True,
    protocol: str = "paper",
    reference: ReferenceRun | None = None,
) -> ReplayResult:
    """Run every frame of `options.image_topic`; write the node's outputs to a new bag at `out`.

    With labels and a pipeline that has scoring thresholds (val's), labelled frames are scored
    as `hybridnets val` scores them, from the same forward pass. With a `reference` run, the
    reference model sees the same frames and camera_info and each frame is compared.
    """
    if options.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {options.batch_size}")
    image_type = bag.require(options.image_topic, IMAGE_TYPES)
    info_topic = follow_camera_info(bag, options.image_topic, options.camera_info)
    metrics = None
    if labels is not None and pipeline.scoring is not None:
        record = detection_record(pipeline.scoring, pipeline.input_size)
        metrics = MetricsAccumulator(pipeline.config, record, protocol)
    skipped: list[tuple[int, str]] = []
    start = time.perf_counter()
    topics = [options.image_topic] + ([info_topic] if info_topic else [])
    planner_truth = None
    if PlannerTruthTopics.present(bag, options.gt_prefix):
        planner_truth = PlannerTruthTopics(
            bag, options.gt_prefix, options.outputs.ground.grid_frame
        )
    with BagWriter(out, options.fmt) as writer:
        poses = ego_poses(bag, options.outputs.ground.grid_frame)
        run = _Replay(pipeline, writer, options, labels, metrics, planner_truth, reference, poses)
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
                        run.session.add_camera_info(msg)
                        if reference is not None:
                            reference.add_camera_info(msg)
                    except ConfigError:  # e.g. an uncalibrated camera's all-zero K: as the node
                        invalid_info += 1
                    continue
                try:
                    image = run.session.decode(msg)
                except InputError as exc:
                    skipped.append((index, str(exc)))
                else:
                    run.add(_Pending(index, log_ns, image))
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
        output_counts=run.counts,
        label_source=labels.description if labels is not None else None,
        evaluation=metrics.evaluation() if metrics is not None and metrics.images else None,
        wall_s=time.perf_counter() - start,
        camera_info=info_topic,
        invalid_camera_info=invalid_info,
        planner=run.planner if run.planner is not None and run.planner.frames else None,
        agreement=reference.metrics if reference is not None else None,
        stability=run.stability,
        calibration=run.calibration.report(),
    )
