"""ROS 2 lifecycle node: one network for one or several cameras; detections, objects, tracks,
masks, a ground grid, lane geometry and diagnostics out.

Managed as Nav2 nodes are: configure loads the weights and builds the runtime, activate starts
the subscriptions, deactivate stops them, cleanup frees the model; `autostart` (default) walks
to active by itself. Each camera keeps only its newest frame; the newest frames of all cameras
go through the network as one batch (a slow camera holds the others back at most
`batch_timeout`), and with `overlap` the next batch is decoded and preprocessed and the last one
published while the network runs. All perception and every message is built in hybridnets_core.
"""

from __future__ import annotations

import faulthandler
import gc
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import ParameterDescriptor, ParameterType, SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from hybridnets_core.errors import ConfigError, HybridNetsError, InputError, describe_failure
from hybridnets_core.outputs import messages
from hybridnets_core.outputs.frame import GROUND_OUTPUTS, OUTPUT_TYPES
from hybridnets_core.outputs.settings import OutputSettings
from hybridnets_core.scene.calibration_check import CalibrationCheckSettings
from hybridnets_core.scene.ground import CameraPose, OpticalPose
from hybridnets_core.scene.local_map import LocalMap
from hybridnets_core.serving.calibration import CalibrationFeed
from hybridnets_core.serving.session import CameraImage, CameraSession, SessionFrame
from hybridnets_core.serving.streams import Arrival, FrameBatcher, StagedRunner
from hybridnets_core.serving.world import PLANNER_OUTPUTS, WORLD_OUTPUTS, RigFrame, WorldOutputs

from . import params
from .diagnostics import calibration_statuses, perception_status
from .ego import EgoPoseSource
from .messages import RclpyFactory, message_class
from .parameter_requests import answer_unparseable_requests
from .stats import FrameStats
from .stop_signals import ROS_SIGNALS_OFF, StopRequest, ignore_stop_signals
from .tf import CameraPoseSource

RCLError = rclpy_implementation.RCLError

if TYPE_CHECKING:
    from hybridnets_core.inference.letterbox import Letterbox
    from hybridnets_core.inference.pipeline import InferredBatch, Pipeline, PreparedBatch
    from hybridnets_core.inference.results import FrameResult
    from hybridnets_core.runtime.onnx_runtime import OnnxOptions

NODE_NAME = "hybridnets_node"
WARN_EVERY_S = 5.0
SPIN_PERIOD_S = 0.2  # longest wait before a stop signal is seen
OUTPUT_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
# ~/grid and ~/local_map by `grid_qos` and `local_map_qos`: a transient-local writer also
# serves volatile readers
GRID_QOS = {
    "volatile": OUTPUT_QOS,
    "transient_local": QoSProfile(
        depth=OUTPUT_QOS.depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    ),
}


@dataclass(frozen=True)
class Snapshot:
    """Every setting a frame reads: the node's parameters and each configured camera's output
    settings. Never changed: a parameter change builds a new one and swaps it in with one
    assignment, and each batch keeps the one current when it started, so no frame mixes two."""

    node: params.NodeSettings
    cameras: Mapping[str, OutputSettings] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, node: params.NodeSettings, cameras: dict[str, OutputSettings]) -> Snapshot:
        """A snapshot holding a read-only copy of `cameras`."""
        return cls(node, MappingProxyType(dict(cameras)))


@dataclass
class CameraStream:
    """One camera: its topics' prefix, session (decoding, camera_info, outputs and tracker),
    publishers and subscriptions."""

    name: str
    prefix: str  # "" for the single unnamed camera, else "<name>/"
    session: CameraSession
    publishers: dict[str, Any] = field(default_factory=dict)
    subscriptions: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class CameraFrame:
    """One camera's frame in a batch: its stream, the decoded image, how it sits in the network
    input and when it arrived."""

    stream: CameraStream
    image: CameraImage
    letterbox: Letterbox
    received: float


@dataclass
class Batch:
    """One batch on its way through the stages: the frames that decoded, the settings it runs
    under (captured at its start), and the network input (then its outputs)."""

    frames: list[CameraFrame]
    settings: Snapshot
    started: float
    decoded: float = 0.0
    network: PreparedBatch | InferredBatch | None = None


class HybridNetsNode(LifecycleNode):
    """Runs hybridnets_core.Pipeline on the newest frame of each camera and publishes results."""

    def __init__(self, **node_options: Any) -> None:
        super().__init__(NODE_NAME, **node_options)
        self.streams: dict[str, CameraStream] = {}
        self._batcher: FrameBatcher[tuple[Any, float]] | None = None
        self._runner: StagedRunner | None = None
        try:
            self._set_up()
        except (HybridNetsError, ParameterException):
            # what was created so far goes now, in order: DDS entities left to interpreter exit
            # are torn down in no defined order, which can hang the process at exit
            self.destroy_node()
            raise

    def _set_up(self) -> None:
        """Parameters and state, diagnostics; then to active when `autostart` is on."""
        answer_unparseable_requests(self)
        by_device = params.device_defaults("cpu")
        self._declare(
            {n: default for n, (default, _) in params.PARAMETERS.items() if n not in by_device}
        )
        self._declare(params.device_defaults(self.get_parameter("device").value))
        self.declare_parameter(
            params.CAMERAS,
            list(params.ONE_CAMERA),
            ParameterDescriptor(
                type=ParameterType.PARAMETER_STRING_ARRAY,
                description=params.CAMERAS_DESCRIPTION,
                read_only=True,
            ),
        )
        self.snapshot = Snapshot(
            params.settings_from(
                {name: self.get_parameter(name).value for name in params.PARAMETERS}
            )
        )
        self.camera_names = params.camera_names(self.get_parameter(params.CAMERAS).value)
        self._declare_camera_parameters()
        self.stats = FrameStats()
        self.debug_images = 0  # overlays rendered (only while a ~/debug_image has subscribers)
        self.ground_builds = 0  # pixel-to-cell mappings computed, all cameras
        self.state = "unconfigured"  # lifecycle state label, for diagnostics and start()
        self.configure_error = ""
        self.pipeline: Pipeline | None = None
        self._poses = CameraPoseSource(self)
        self.ego = EgoPoseSource(self, self.settings.ego, self._poses)
        self.local_map = LocalMap(self.settings.local_map)  # every camera's frames, in odom
        self.local_map_publisher: Any = None
        self.rig: WorldOutputs | None = None  # several named cameras: outputs of the whole rig
        self.rig_publishers: dict[str, Any] = {}
        self.calibration: dict[str, CalibrationFeed] = {}  # camera -> its pose check
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(1.0, self._publish_diagnostics)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if self.settings.behaviour.autostart:
            self._autostart()

    def _declare(self, defaults: dict[str, Any]) -> None:
        """Declare parameters (name -> default) with their descriptors."""
        self.declare_parameters(
            "", [(name, default, params.descriptor(name)) for name, default in defaults.items()]
        )

    @property
    def settings(self) -> params.NodeSettings:
        """The node's current parameters, typed."""
        return self.snapshot.node

    def _autostart(self) -> None:
        """Walk to active (ros2 run / launch); HybridNetsError (one line) if configuring fails."""
        if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            raise ConfigError(self.configure_error or "configuration failed")
        self.trigger_activate()

    def _declare_camera_parameters(self) -> None:
        """<camera>.<setting> for every named camera, defaulting to the flat parameter."""
        for camera in filter(None, self.camera_names):
            for name, setting in params.camera_parameters(camera).items():
                default = self.get_parameter(setting).value
                descriptor = params.descriptor(setting)
                descriptor.name = name
                self.declare_parameter(name, default, descriptor)

    def _camera_settings(
        self, camera: str, base: OutputSettings, updates: dict[str, Any] | None = None
    ) -> OutputSettings:
        """A camera's output settings: its <camera>.* parameters (or `updates` of them) over
        `base`; the unnamed single camera uses `base` itself."""
        if not camera:
            return base
        values = {
            setting: (updates or {}).get(name, self.get_parameter(name).value)
            for name, setting in params.camera_parameters(camera).items()
        }
        return params.camera_outputs(base, values)

    # --- lifecycle transitions -------------------------------------------------------------

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Load the weights, build the runtime, the streams and their publishers."""
        weights = self.settings.model.weights or "the built-in model"
        self.get_logger().info(f"configuring: loading {weights}")
        try:
            self.pipeline = self._load_pipeline()
            settings = self.settings
            names = params.class_names(settings.model, self.pipeline.class_names)
            cameras = {c: self._camera_settings(c, settings.outputs) for c in self.camera_names}
            for camera, outputs in cameras.items():
                self.streams[camera] = self._make_stream(camera, outputs, names)
            self.local_map_publisher = self.create_lifecycle_publisher(
                message_class(messages.OCCUPANCY_GRID),
                "~/local_map",
                GRID_QOS[settings.output_qos.local_map_qos],
            )
            if self.camera_names != list(params.ONE_CAMERA):
                self._make_rig(names)
            self.snapshot = Snapshot.of(settings, cameras)
        except Exception as exc:  # anything: rclpy would swallow the cause, so it is logged
            self.configure_error = describe_failure(exc)
            self.get_logger().error(f"cannot configure: {self.configure_error}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        size = self.pipeline.input_size
        self.get_logger().info(
            f"configured: {self.pipeline.backend_name} on {self.pipeline.device}, input "
            f"{size[1]}x{size[0]}, cameras {', '.join(c or '(one)' for c in self.camera_names)}"
        )
        self.state = "inactive"
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Start the workers and subscribe to every camera."""
        behaviour, rate = self.settings.behaviour, self.settings.input.max_rate
        self._batcher = FrameBatcher(
            list(self.streams), behaviour.batch_timeout, 1.0 / rate if rate > 0 else 0.0
        )
        stages = [self._decode_and_prepare, self._infer, self._publish_batch]
        self._runner = StagedRunner(
            self._batcher.take, stages, self._on_stage_error, overlap=behaviour.overlap
        )
        self._runner.start()
        for stream in self.streams.values():
            self._subscribe(stream)
        topics = ", ".join(s.subscriptions[0].topic_name for s in self.streams.values())
        self.get_logger().info(f"active: listening on {topics} ({self.settings.input.input_mode})")
        self.state = "active"
        activated = super().on_activate(state)  # lifecycle publishers publish from here on
        now = self.get_clock().now().nanoseconds
        threshold = self.settings.detection.conf_threshold
        for stream in self.streams.values():
            stream.publishers["label_info"].publish(stream.session.label_info(now, threshold))
        return activated

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Stop subscribing and processing; publishers stay, silent."""
        self._stop_processing()
        self.state = "inactive"
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Free the model (GPU memory on CUDA) and the publishers."""
        self._release()
        self.state = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """From any state: stop everything."""
        self._stop_processing()
        self._release()
        self.state = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def _stop_processing(self) -> None:
        for stream in self.streams.values():
            for subscription in stream.subscriptions:
                self.destroy_subscription(subscription)
            stream.subscriptions.clear()
        if self._batcher is not None:
            self._batcher.close()
        if self._runner is not None:
            self._runner.stop()
        self._batcher = self._runner = None

    def _release(self) -> None:
        for stream in self.streams.values():
            for publisher in stream.publishers.values():
                self.destroy_lifecycle_publisher(publisher)
        self.streams.clear()
        self.calibration.clear()  # a new configuration starts the pose checks afresh
        if self.local_map_publisher is not None:
            self.destroy_lifecycle_publisher(self.local_map_publisher)
            self.local_map_publisher = None
        for publisher in self.rig_publishers.values():
            self.destroy_lifecycle_publisher(publisher)
        self.rig_publishers, self.rig = {}, None
        device = self.pipeline.device if self.pipeline is not None else "cpu"
        self.pipeline = None
        gc.collect()
        if device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    def _load_pipeline(self) -> Pipeline:
        """Build the Pipeline from weights/backend/device; HybridNetsError if impossible."""
        from hybridnets_core.inference.pipeline import Pipeline
        from hybridnets_core.runtime.threads import ThreadSettings

        model = self.settings.model
        pipeline = Pipeline.from_weights(
            model.weights or None,
            device=model.device,
            half=model.half,
            backend=model.backend,
            onnx_options=self._onnx_options(),
            threads=ThreadSettings(model.threads, model.thread_spin),
            detection=self.settings.detection,
            mask_resolution=self.settings.outputs.mask_resolution,
        )
        if pipeline.runtime.engine_note:  # "TensorRT engine from cache DIR" / "... built in N s"
            self.get_logger().info(pipeline.runtime.engine_note)
        elif pipeline.provider is not None and model.device.startswith("cuda"):
            self.get_logger().info(f"no TensorRT engine: onnxruntime runs {pipeline.provider}")
        return pipeline

    def _onnx_options(self) -> OnnxOptions | None:
        """ONNX Runtime options (the TensorRT engine cache, its batch: the cameras) for backend
        onnxruntime; None for torch."""
        from pathlib import Path

        model = self.settings.model
        if model.backend != "onnxruntime":
            return None
        from hybridnets_core.runtime.onnx_runtime import OnnxOptions

        cache = Path(model.trt_cache_dir).expanduser() if model.trt_cache_dir else None
        return OnnxOptions(trt_cache=cache, trt_batch=len(self.camera_names))

    def _make_stream(self, camera: str, settings: OutputSettings, names: list[str]) -> CameraStream:
        prefix = f"{camera}/" if camera else ""
        stream = CameraStream(camera, prefix, CameraSession(RclpyFactory(), settings, names))
        grid_qos = GRID_QOS[self.settings.output_qos.grid_qos]
        for name, msgtype in OUTPUT_TYPES.items():
            stream.publishers[name] = self.create_lifecycle_publisher(
                message_class(msgtype),
                f"~/{prefix}{name}",
                grid_qos if name == "grid" else OUTPUT_QOS,
            )
        label_info = self.create_lifecycle_publisher(
            message_class(messages.LABEL_INFO), f"~/{prefix}label_info", LATCHED_QOS
        )
        stream.publishers["label_info"] = label_info
        return stream

    def _make_rig(self, names: list[str]) -> None:
        """The rig's own outputs: ~/objects fused across cameras and the surround ~/grid."""
        self.rig = WorldOutputs(RclpyFactory(), names, self.settings.fusion)
        grid_qos = GRID_QOS[self.settings.output_qos.grid_qos]
        for name, msgtype in WORLD_OUTPUTS.items():
            self.rig_publishers[name] = self.create_lifecycle_publisher(
                message_class(msgtype), f"~/{name}", grid_qos if name == "grid" else OUTPUT_QOS
            )

    def _subscribe(self, stream: CameraStream) -> None:
        """Image (raw or compressed) and camera_info with the configured input QoS."""
        inputs = self.settings.input
        reliability = {
            "best_effort": ReliabilityPolicy.BEST_EFFORT,
            "reliable": ReliabilityPolicy.RELIABLE,
        }[inputs.qos.reliability]
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=inputs.qos.depth, reliability=reliability
        )
        compressed = inputs.input_mode == "compressed"
        msg_type = CompressedImage if compressed else Image
        topic = f"{stream.prefix}image" + ("/compressed" if compressed else "")

        def on_image(msg: Any) -> None:
            self.stats.count("received")
            if self._batcher is not None and self._batcher.put(
                stream.name, (msg, time.perf_counter())
            ):
                self.stats.count("dropped")

        def on_camera_info(msg: CameraInfo) -> None:
            self._on_camera_info(stream, msg)

        stream.subscriptions = [
            self.create_subscription(msg_type, topic, on_image, qos),
            self.create_subscription(
                CameraInfo, f"{stream.prefix}camera_info", on_camera_info, qos
            ),
        ]

    # --- callbacks (executor thread) -------------------------------------------------------

    def _on_camera_info(self, stream: CameraStream, msg: CameraInfo) -> None:
        """Keep recent valid camera models by stamp, to pair each image with its own."""
        try:
            stream.session.add_camera_info(msg)
        except HybridNetsError as exc:
            self.get_logger().warning(
                f"ignoring camera_info of {stream.prefix or 'the camera'}: {exc}",
                throttle_duration_sec=WARN_EVERY_S,
            )
            return
        self._poses.remember_frame(stream.name, msg.header.frame_id)

    def _on_set_parameters(self, changes: list[Parameter]) -> SetParametersResult:
        """Accept a change only if the resulting settings are valid; apply them at once, as
        one new snapshot (frames in flight keep theirs); re-announce a changed label_info."""
        flat = params.parameter_values(self.settings)
        updates = {p.name: p.value for p in changes}
        try:
            settings = params.settings_from(
                {**flat, **{k: v for k, v in updates.items() if k in flat}}
            )
            cameras = {
                camera: self._camera_settings(camera, settings.outputs, updates)
                for camera in self.streams
            }
        except HybridNetsError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self.snapshot = Snapshot.of(settings, cameras)
        if self.rig is not None:
            self.rig.fusion.configure(settings.fusion)
        if self._batcher is not None:
            rate = settings.input.max_rate
            self._batcher.timeout_s = settings.behaviour.batch_timeout
            self._batcher.set_interval(1.0 / rate if rate > 0 else 0.0)
        if self.state == "active":
            now = self.get_clock().now().nanoseconds
            threshold = settings.detection.conf_threshold
            for stream in self.streams.values():
                info = stream.session.label_info_if_changed(now, threshold)
                if info is not None:
                    stream.publishers["label_info"].publish(info)
        return SetParametersResult(successful=True)

    # --- the stages (worker threads) -------------------------------------------------------

    def _decode_and_prepare(self, arrivals: dict[str, Arrival[tuple[Any, float]]]) -> Batch | None:
        """Stage 1: decode each camera's frame (a malformed one is counted and left out),
        letterbox and normalise them into one network input. The batch keeps the settings
        snapshot of this moment for all its stages."""
        batch = Batch([], self.snapshot, time.perf_counter())
        for camera, arrival in arrivals.items():
            msg, arrived = arrival.item
            stream = self.streams[camera]
            try:
                image = stream.session.decode(msg)
                letterbox = self.pipeline.transform.fit(image.pixels.shape[:2])  # or InputError
            except InputError as exc:  # this camera's frame only: the batch goes on without it
                self._reject(exc)
                continue
            batch.frames.append(CameraFrame(stream, image, letterbox, arrived))
        if not batch.frames:
            return None
        batch.decoded = time.perf_counter()
        batch.network = self.pipeline.prepare(
            [frame.image.pixels for frame in batch.frames],
            [frame.image.color for frame in batch.frames],
            letterboxes=[frame.letterbox for frame in batch.frames],
        )
        return batch

    def _infer(self, batch: Batch) -> Batch:
        """Stage 2: the forward pass."""
        batch.network = self.pipeline.infer(batch.network, batch.settings.node.detection)
        return batch

    def _publish_batch(self, batch: Batch) -> bool:
        """Stage 3: postprocess, then each camera's outputs with its own stamp. The recorded
        stages do not overlap: the Pipeline's (preprocess, forward, postprocess: each frame's
        share), then building the messages (output) and handing them to DDS (publish)."""
        results = self.pipeline.finish(batch.network)
        mapping = self.local_map_publisher.get_subscription_count() > 0
        rig_wanted = {n for n, pub in self.rig_publishers.items() if pub.get_subscription_count()}
        ground_grid = mapping or "grid" in rig_wanted
        # the rig's lane index, in-path and lead read the cameras' lanes
        estimate_lanes = not rig_wanted.isdisjoint(PLANNER_OUTPUTS)
        fused, rig_frames = False, []
        for frame, result in zip(batch.frames, results):
            outputs = batch.settings.cameras[frame.stream.name]
            made = self._build(frame, result, batch.settings, ground_grid, estimate_lanes)
            camera = frame.stream.name
            rig_frames.append(RigFrame(camera, frame.image.header.frame_id, made, outputs))
            fused |= mapping and self._add_to_local_map(made, outputs)
            built = time.perf_counter()
            self._send(frame.stream, made)
            done = time.perf_counter()
            self.stats.count("processed")
            self.stats.record(
                {
                    "wait": (batch.started - frame.received) * 1000,
                    "decode": (batch.decoded - batch.started) * 1000 / len(results),
                    **made.timings,
                    "publish": (done - built) * 1000,
                    "total": (done - frame.received) * 1000,
                }
            )
        if fused:
            self._publish_local_map()
        if self.rig is not None:
            self._publish_rig(rig_frames, batch.settings.node.outputs, rig_wanted)
        return True

    def _publish_rig(self, frames: list[RigFrame], rig: OutputSettings, wanted: set[str]) -> None:
        """The rig's outputs of a batch: fused objects (every batch), the wanted messages."""
        ego = None
        if "tracked_objects" in wanted:
            newest = max(frame.frame.stamp for frame in frames)
            ego = self.ego.twist_at(rig.ground.grid_frame, newest)
        for name, message in self.rig.update(frames, rig, wanted, ego)[1].items():
            self.rig_publishers[name].publish(message)

    def _add_to_local_map(self, made: SessionFrame, outputs: OutputSettings) -> bool:
        """Fuse a frame's ground grid into the local map at the ego pose of its stamp; whether
        it was (not without a ground grid or a pose)."""
        if made.occupancy is None:
            return False
        pose = self.ego.pose_at(outputs.ground.grid_frame, made.stamp)
        if pose is None:
            self.get_logger().warning(
                f"no pose of {outputs.ground.grid_frame} in {self.ego.odom_frame} at the image "
                "stamp (TF, or ego.odometry_topic within ego.odometry_tolerance): ~/local_map "
                "not updated",
                throttle_duration_sec=WARN_EVERY_S * 6,
            )
            return False
        self.local_map.fuse(pose, made.stamp, made.occupancy, made.grid, made.scene.objects)
        return True

    def _publish_local_map(self) -> None:
        """~/local_map in odom_frame, stamped with the newest frame fused."""
        factory = RclpyFactory()
        header = messages.header(factory, self.local_map.stamp_ns, self.ego.odom_frame)
        message = messages.local_map(factory, self.local_map, header)
        if message is not None:
            self.local_map_publisher.publish(message)

    def _reject(self, exc: Exception) -> None:
        self.stats.count("rejected", f"bad input: {exc}")
        self.get_logger().warning(f"skipping frame: {exc}", throttle_duration_sec=WARN_EVERY_S)

    def _on_stage_error(self, exc: BaseException) -> None:
        """A batch that failed inside a stage: counted, logged, the node goes on."""
        if isinstance(exc, InputError):
            self._reject(exc)
            return
        if not self.context.ok():
            return  # shutting down (Ctrl-C) while a batch was in flight
        self.stats.count("failed", f"{type(exc).__name__}: {exc}")
        self.get_logger().error(
            f"frame failed: {type(exc).__name__}: {exc}", throttle_duration_sec=WARN_EVERY_S
        )

    def _build(
        self,
        frame: CameraFrame,
        result: FrameResult,
        settings: Snapshot,
        ground_grid: bool,
        estimate_lanes: bool,
    ) -> SessionFrame:
        """This frame's messages: detections always (tracks need every frame), other outputs
        only when subscribed; with `ground_grid`, its ground grid too (the local map's and the
        surround grid's); with `estimate_lanes`, its lanes (the rig's path assessment)."""
        stream = frame.stream
        outputs = settings.cameras[stream.name]
        wanted = {"detections"} | {
            name for name, pub in stream.publishers.items() if pub.get_subscription_count() > 0
        }
        grid_frame = outputs.ground.grid_frame
        pose = self._poses.lookup(stream.name, grid_frame, frame.image.header)
        ego = None  # the vehicle's motion: only the tracked objects' velocities need it
        if "tracked_objects" in wanted:
            ego = self.ego.twist_at(grid_frame, frame.image.stamp)
        made = stream.session.process(
            result, frame.image, wanted, outputs, pose, ground_grid, ego, estimate_lanes
        )
        placement = pose if pose is not None else outputs.ground.camera
        self._check_calibration(stream, made, placement, settings.node.calibration_check)
        if made.camera is None and (ground_grid or not wanted.isdisjoint(GROUND_OUTPUTS)):
            self.get_logger().warning(
                "no intrinsics (camera_info within camera.info_tolerance of the image, or "
                "camera.fx/fy parameters): ground outputs off",
                throttle_duration_sec=WARN_EVERY_S * 6,
            )
        if made.ground_rebuilt:
            self.ground_builds += 1
            grid = outputs.ground.grid
            self.get_logger().info(
                f"ground mapping built in {made.ground_build_ms:.1f} ms: "
                f"{grid.width}x{grid.height} cells"
            )
        self.debug_images += "debug_image" in made.messages
        return made

    def _check_calibration(
        self,
        stream: CameraStream,
        made: SessionFrame,
        pose: CameraPose | OpticalPose,
        check: CalibrationCheckSettings,
    ) -> None:
        """Feed the camera's pose check with the pose the frame was placed with (a fresh
        window when calibration_check.* changed)."""
        feed = self.calibration.get(stream.name)
        if feed is None or feed.settings != check:
            feed = self.calibration[stream.name] = CalibrationFeed(check)
        feed.add(stream.session, made, pose)

    @staticmethod
    def _send(stream: CameraStream, made: SessionFrame) -> None:
        for name, message in made.messages.items():
            stream.publishers[name].publish(message)

    # --- diagnostics -----------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        """The perception status (lifecycle state, rates, counts, latencies, last error) and
        each camera's pose check."""
        totals, rates = self.stats.rates()
        backend = self.pipeline.backend_name if self.pipeline else "none"
        device = self.pipeline.device if self.pipeline else "none"
        values = {
            "backend": backend,
            "device": device,
            "overlap": str(self.settings.behaviour.overlap).lower(),
            "cameras": ",".join(c or "(one)" for c in self.camera_names),
            "ground_mapping_builds": str(self.ground_builds),
            "debug_images": str(self.debug_images),
            "last_error": self.stats.last_error,
            "latency_window_s": f"{self.stats.window_s:g}",
        }
        name = self.get_fully_qualified_name()
        perception = perception_status(
            name, f"{backend}:{device}", self.state, totals, rates, values,
            self.stats.latency_summary(),
        )  # fmt: skip
        array = DiagnosticArray(status=[perception, *calibration_statuses(name, self.calibration)])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(array)

    def stop(self) -> None:
        """Stop the workers (waits for the batch in progress); `destroy_node` does it too."""
        self._stop_processing()

    def destroy_node(self) -> None:
        """Stop the workers first, so none publishes through an entity being destroyed."""
        self._stop_processing()
        super().destroy_node()


def spin_until_shutdown(node: Any, executor: SingleThreadedExecutor, stop: StopRequest) -> None:
    """Spin until a stop signal or an external shutdown; an exception escaping a callback is
    logged and the node keeps running."""
    executor.add_node(node)
    while rclpy.ok(context=node.context) and not stop.requested:
        try:
            executor.spin_once(timeout_sec=SPIN_PERIOD_S)
        except ExternalShutdownException:
            return
        except Exception as exc:
            node.get_logger().error(
                f"callback failed, node continues: {type(exc).__name__}: {exc}",
                throttle_duration_sec=WARN_EVERY_S,
            )


def main(args: list[str] | None = None) -> None:
    """Entry point `hybridnets_node`: exit 1 with one fatal line when the node cannot start,
    exit 0 on Ctrl-C or SIGTERM (however many arrive, even while the model loads), idle or
    while streaming."""
    faulthandler.enable()  # a crash in native code prints every thread's Python stack
    stop = StopRequest().install()
    try:
        rclpy.init(args=args, signal_handler_options=ROS_SIGNALS_OFF)
    except RCLError as exc:  # e.g. an unparseable `-p name:=value`
        sys.exit(f"hybridnets_node: cannot start: {str(exc).split(', at ')[0]}")
    node = None
    executor = SingleThreadedExecutor()
    code = 0
    try:
        node = HybridNetsNode()
        spin_until_shutdown(node, executor, stop)
    except (HybridNetsError, ParameterException) as exc:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"cannot start: {exc}")
        code = 1
    finally:
        executor.shutdown(timeout_sec=5.0)
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    ignore_stop_signals()  # what is left is the interpreter's exit: no signal may kill it
    sys.exit(code)


if __name__ == "__main__":
    main()
