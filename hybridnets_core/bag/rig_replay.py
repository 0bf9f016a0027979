"""Offline replay of a multi-camera bag as the node runs a camera rig: each frame's images of
every camera in one batched forward pass, each camera through its own `CameraSession` (placed by
the bag's /tf_static), and `WorldOutputs` fusing them into the rig's objects and surround grid.
Outputs go to a new bag (`<node>/<camera>/<output>` and `<node>/objects`, `<node>/grid`); with
a rig drive's truth (`synth-bag --rig`) the frames are scored by `rig_metrics`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..errors import ConfigError, InputError
from ..inference.pipeline import Pipeline
from ..outputs import messages
from ..outputs.frame import OUTPUT_TYPES
from ..outputs.settings import OutputSettings
from ..scene.fusion import FusionSettings
from ..scene.ground import OpticalPose
from ..serving.session import CameraImage, CameraSession, SessionFrame
from ..serving.world import WORLD_OUTPUTS, RigFrame, WorldOutputs
from .reader import BagReader
from .replay import IMAGE_TYPES, NODE_NAME, camera_info_topic
from .rig import TF_STATIC, optical_poses
from .rig_metrics import RigMetrics, RigTruth
from .truth_topics import TF_MESSAGE
from .typestore import RosbagsFactory
from .writer import BagWriter

CAMERA_OUTPUTS = ("objects", "tracked_objects")  # written per camera; tracks run regardless
IMAGE_SUFFIXES = ("/image_raw", "/image_raw/compressed", "/image_rect", "/image_rect/compressed")


def camera_name(image_topic: str) -> str:
    """The camera of an image topic: its namespace, /front_left/image_raw -> front_left."""
    return camera_info_topic(image_topic).rsplit("/", 1)[0].strip("/").replace("/", "_")


def rig_image_topics(bag: BagReader) -> list[str]:
    """Every image topic of the bag beside a camera_info (the cameras of a rig bag)."""
    found = [
        topic
        for topic, kind in bag.topics.items()
        if kind in IMAGE_TYPES
        and topic.endswith(IMAGE_SUFFIXES)
        and bag.topics.get(camera_info_topic(topic)) == messages.CAMERA_INFO
    ]
    if len(found) < 2:
        raise ConfigError(
            f"--rig needs a bag with two or more cameras (/<camera>/image_raw beside "
            f"/<camera>/camera_info), found {found or 'none'}; {bag.describe_topics()}"
        )
    return found


@dataclass(frozen=True)
class RigReplayOptions:
    """The cameras' image topics, the node's output and fusion settings, and the output bag."""

    image_topics: list[str]
    outputs: OutputSettings = field(default_factory=OutputSettings)
    fusion: FusionSettings = field(default_factory=FusionSettings)
    node: str = NODE_NAME
    fmt: str = "mcap"
    gt_prefix: str = "/ground_truth"


@dataclass
class RigReplayResult:
    """What the rig report needs."""

    bag: Path
    output: Path
    cameras: list[str]
    frames: int
    wall_s: float
    output_counts: dict[str, int]
    metrics: RigMetrics | None


class _Camera:
    """One camera of the replay: its session, topics and pose from /tf_static."""

    def __init__(self, topic: str, options: RigReplayOptions, class_names: list[str]) -> None:
        self.name = camera_name(topic)
        self.topic = topic
        self.info = camera_info_topic(topic)
        self.session = CameraSession(RosbagsFactory(), options.outputs, class_names)
        self.pose: OpticalPose | None = None
        self.frame_id = ""


def _truth_by_stamp(bag: BagReader, prefix: str, cameras: list[str]) -> dict[int, RigTruth]:
    """The rig drive's truth per stamp (empty when the bag has none)."""
    objects = f"{prefix}/tracked_objects"
    lines = f"{prefix}/lane_lines"
    boxes = {f"{prefix}/{camera}/detections": camera for camera in cameras}
    if objects not in bag.topics or not all(topic in bag.topics for topic in boxes):
        return {}
    parts: dict[int, dict[str, Any]] = {}
    wanted = [objects, *boxes] + ([lines] if lines in bag.topics else [])
    for topic, _, msg in bag.messages(wanted):
        stamp = messages.stamp_ns(msg.header) if hasattr(msg, "header") else None
        if stamp is None:  # a MarkerArray: its markers carry the header
            stamp = messages.stamp_ns(msg.markers[0].header) if msg.markers else None
        if stamp is not None:
            parts.setdefault(stamp, {})[topic] = msg
    truths = {}
    for stamp, found in parts.items():
        if objects not in found:
            continue
        tracked = found[objects].objects
        ids = [o.id for o in tracked]
        centres = np.array([[o.pose.pose.position.x, o.pose.pose.position.y] for o in tracked])
        labels = {}
        for topic, camera in boxes.items():
            if topic in found:
                rows, _, _ = messages.detections_from_msg(found[topic])
                labels[camera] = ([d.id for d in found[topic].detections], rows.reshape(-1, 4))
        truths[stamp] = RigTruth(ids, centres.reshape(-1, 2), labels, _edges(found.get(lines)))
    return truths


def _edges(markers: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The road's left and right edge lines ([M, 2] x, y) of the lane-line truth."""
    if markers is None or len(markers.markers) < 2:
        return None
    ordered = sorted(markers.markers, key=lambda m: m.id)
    left, right = ordered[0], ordered[-1]
    return tuple(np.array([[p.x, p.y] for p in m.points]) for m in (left, right))  # type: ignore[return-value]


class _RigReplay:
    """State of one run: cameras, world outputs, the output bag and the metrics."""

    def __init__(
        self,
        pipeline: Pipeline,
        writer: BagWriter,
        options: RigReplayOptions,
        cameras: list[_Camera],
        truth: dict[int, RigTruth],
    ) -> None:
        self.pipeline = pipeline
        self.writer = writer
        self.options = options
        self.node = options.node.rstrip("/")
        self.cameras = cameras
        self.world = WorldOutputs(RosbagsFactory(), pipeline.class_names, options.fusion)
        self.truth = truth
        self.metrics = None
        if truth:
            names = [c.name for c in cameras]
            self.metrics = RigMetrics(names, options.outputs.ground.grid)
        self.counts: dict[str, int] = {}
        self.frames = 0

    def _write(self, name: str, msgtype: str, log_ns: int, message: Any) -> None:
        topic = f"{self.node}/{name}"
        self.writer.write(topic, msgtype, log_ns, message)
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def run(self, group: dict[str, tuple[int, CameraImage]]) -> None:
        """One frame of the rig: its cameras' images in one forward pass, each camera's
        outputs, the fused objects and surround grid, and the scores."""
        present = [c for c in self.cameras if c.name in group]
        images = [group[c.name][1] for c in present]
        results = self.pipeline.run_batch(
            [image.pixels for image in images], [image.color for image in images]
        )
        log_ns = max(group[c.name][0] for c in present)
        frames: dict[str, SessionFrame] = {}
        rig_frames = []
        for camera, image, result in zip(present, images, results):
            done = camera.session.process(
                result, image, CAMERA_OUTPUTS, pose=camera.pose, ground_grid=True
            )
            frames[camera.name] = done
            frame_id = image.header.frame_id
            rig_frames.append(RigFrame(camera.name, frame_id, done, self.options.outputs))
            for name, message in done.messages.items():
                self._write(f"{camera.name}/{name}", OUTPUT_TYPES[name], log_ns, message)
        fused, built = self.world.update(rig_frames, self.options.outputs, WORLD_OUTPUTS)
        for name, message in built.items():
            self._write(name, WORLD_OUTPUTS[name], log_ns, message)
        self.frames += 1
        stamp = max(image.stamp for image in images)
        truth = self.truth.get(stamp)
        if self.metrics is not None and truth is not None:
            surround = None
            if "grid" in built:
                surround = np.asarray(built["grid"].data, dtype=np.int8).reshape(
                    built["grid"].info.height, built["grid"].info.width
                )
            self.metrics.update(truth, fused, frames, surround)


def replay_rig(
    bag: BagReader,
    pipeline: Pipeline,
    out: Path,
    options: RigReplayOptions,
    progress: bool = True,
) -> RigReplayResult:
    """Run every frame of the rig's cameras; write the outputs to a new bag at `out`."""
    if len(options.image_topics) < 2:
        raise ConfigError("a rig replay needs two or more --topic (one per camera)")
    cameras = [_Camera(topic, options, pipeline.class_names) for topic in options.image_topics]
    names = [c.name for c in cameras]
    if len(set(names)) != len(names):
        raise ConfigError(f"--topic: two image topics of one camera namespace: {names}")
    for camera in cameras:
        bag.require(camera.topic, IMAGE_TYPES)
        bag.require(camera.info, (messages.CAMERA_INFO,))
    grid_frame = options.outputs.ground.grid_frame
    poses = _static_poses(bag, grid_frame)
    truth = _truth_by_stamp(bag, options.gt_prefix, names)
    start = time.perf_counter()
    by_topic = {c.topic: c for c in cameras}
    by_info = {c.info: c for c in cameras}
    with BagWriter(out, options.fmt) as writer:
        run = _RigReplay(pipeline, writer, options, cameras, truth)
        group: dict[str, tuple[int, CameraImage]] = {}
        group_stamp = None
        bar = tqdm(total=bag.counts[cameras[0].topic], desc="bag-eval --rig", disable=not progress)
        with bar:
            for topic, log_ns, msg in bag.messages([*by_topic, *by_info]):
                if topic in by_info:
                    camera = by_info[topic]
                    camera.session.add_camera_info(msg)
                    camera.frame_id = msg.header.frame_id
                    continue
                camera = by_topic[topic]
                try:
                    image = camera.session.decode(msg)
                except InputError:
                    continue
                if camera.pose is None:
                    camera.pose = _pose_of(poses, image.header.frame_id or camera.frame_id, camera)
                if group and (image.stamp != group_stamp or camera.name in group):
                    run.run(group)
                    bar.update()
                    group = {}
                group_stamp = image.stamp
                group[camera.name] = (log_ns, image)
            if group:
                run.run(group)
                bar.update()
    return RigReplayResult(
        bag=bag.path,
        output=out,
        cameras=names,
        frames=run.frames,
        wall_s=time.perf_counter() - start,
        output_counts=run.counts,
        metrics=run.metrics if run.metrics is not None and run.metrics.frames else None,
    )


def _static_poses(bag: BagReader, grid_frame: str) -> dict[str, OpticalPose]:
    """Optical frame -> pose in grid_frame from the bag's /tf_static (empty without it)."""
    if bag.topics.get(TF_STATIC) != TF_MESSAGE:
        return {}
    poses: dict[str, OpticalPose] = {}
    for _, _, msg in bag.messages([TF_STATIC]):
        poses.update(optical_poses(msg, grid_frame))
    return poses


def _pose_of(poses: dict[str, OpticalPose], frame_id: str, camera: _Camera) -> OpticalPose:
    """The camera's pose from /tf_static: ConfigError naming the frame when it is missing."""
    if frame_id not in poses:
        raise ConfigError(
            f"camera {camera.name}: no /tf_static transform from the grid frame to its optical "
            f"frame {frame_id!r} (have {sorted(poses) or 'none'}); record the rig's static TF"
        )
    return poses[frame_id]
