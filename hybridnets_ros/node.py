"""ROS 2 node: camera images in; detections, masks, a ground grid, lane points, diagnostics out.

The subscription only stores the newest frame; a worker thread runs the Pipeline, so a slow
model never queues stale images (a frame replaced before it is processed counts as dropped).
All perception, and the building of every output message, is in `hybridnets_core`; this module
only moves data between it and ROS.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from hybridnets_core.errors import ConfigError, HybridNetsError, InputError
from hybridnets_core.msgcodec import compressed_to_array, image_to_array
from hybridnets_core.outputs import messages
from hybridnets_core.outputs.frame import OUTPUT_TYPES, FrameOutputs

from . import params
from .messages import RclpyFactory, message_class
from .stats import FrameStats

if TYPE_CHECKING:
    from hybridnets_core.pipeline import Pipeline
    from hybridnets_core.results import FrameResult

NODE_NAME = "hybridnets_node"
WARN_EVERY_S = 5.0
TORCH_HINT = "pip install torch efficientnet-pytorch (or rosdep install --from-paths src)"


class HybridNetsNode(Node):
    """Runs hybridnets_core.Pipeline on the newest camera frame and publishes its results."""

    def __init__(self, **node_options: Any) -> None:
        super().__init__(NODE_NAME, **node_options)
        self.declare_parameters(
            "",
            [
                (name, default, params.descriptor(name))
                for name, (default, _) in params.PARAMETERS.items()
            ],
        )
        self.settings = params.settings_from(
            {name: self.get_parameter(name).value for name in params.PARAMETERS}
        )
        self.pipeline = self._load_pipeline()
        names = params.class_names(self.settings.model, self.pipeline.class_names)
        self.outputs = FrameOutputs(RclpyFactory(), self.settings.outputs, names)
        self.stats = FrameStats()
        self.debug_images = 0  # overlays rendered (only while ~/debug_image has subscribers)
        self._camera_infos = self.settings.outputs.ground.camera_info.history()
        self._camera_lock = threading.Lock()
        self._latest: tuple[Any, float] | None = None
        self._wake = threading.Condition()
        self._stopping = False
        self._last_start = 0.0
        self._make_publishers()
        self._make_subscriptions()
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(1.0, self._publish_diagnostics)
        self._worker = threading.Thread(target=self._work, name="hybridnets_worker", daemon=True)
        self._worker.start()
        size = self.pipeline.input_size
        self.get_logger().info(
            f"ready: {self.pipeline.backend_name} on {self.pipeline.device}, "
            f"input {size[1]}x{size[0]}, listening on {self._image_subscription.topic_name} "
            f"({self.settings.input.input_mode})"
        )

    def _load_pipeline(self) -> Pipeline:
        """Build the Pipeline from weights/backend/device; HybridNetsError if impossible."""
        try:
            from hybridnets_core.pipeline import Pipeline
        except ImportError as exc:  # torch or efficientnet-pytorch missing
            raise ConfigError(f"the model needs {exc.name or exc}: {TORCH_HINT}") from None
        model = self.settings.model
        return Pipeline.from_weights(
            model.weights or None,
            device=model.device,
            half=model.half,
            backend=model.backend,
            detection=self.settings.detection,
            mask_resolution=self.settings.outputs.mask_resolution,
        )

    def _make_publishers(self) -> None:
        """Reliable outputs, so both reliable and best-effort subscribers match."""
        out = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self._output_publishers = {
            name: self.create_publisher(message_class(msgtype), f"~/{name}", out)
            for name, msgtype in OUTPUT_TYPES.items()
        }
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        latched = QoSProfile(
            depth=1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )
        self._label_info_pub = self.create_publisher(
            message_class(messages.LABEL_INFO), "~/label_info", latched
        )
        stamp = self.get_clock().now().nanoseconds
        threshold = self.settings.detection.conf_threshold
        self._label_info_pub.publish(self.outputs.label_info(stamp, "", threshold))

    def _make_subscriptions(self) -> None:
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
        topic = "image/compressed" if compressed else "image"
        self._image_subscription = self.create_subscription(msg_type, topic, self._on_image, qos)
        self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, qos)

    # --- callbacks (executor thread) -------------------------------------------------------

    def _on_image(self, msg: Image | CompressedImage) -> None:
        """Keep only the newest frame; one that was still waiting counts as dropped."""
        self.stats.count("received")
        with self._wake:
            if self._latest is not None:
                self.stats.count("dropped")
            self._latest = (msg, time.perf_counter())
            self._wake.notify()

    def _on_camera_info(self, msg: CameraInfo) -> None:
        """Keep recent valid camera models by stamp, to pair each image with its own."""
        rectified = self.settings.outputs.ground.camera_info.rectified
        try:
            model = messages.camera_model_from_camera_info(msg, rectified)
        except HybridNetsError as exc:
            self.get_logger().warning(
                f"ignoring camera_info: {exc}", throttle_duration_sec=WARN_EVERY_S
            )
            return
        with self._camera_lock:
            self._camera_infos.add(messages.stamp_ns(msg.header), model)

    def _on_set_parameters(self, changes: list[Parameter]) -> SetParametersResult:
        """Accept a change only if the resulting settings are valid; apply them at once."""
        values = params.parameter_values(self.settings)
        values.update({p.name: p.value for p in changes if p.name in values})
        try:
            settings = params.settings_from(values)
        except HybridNetsError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self.settings = settings
        self.pipeline.detection = settings.detection
        self.outputs.settings = settings.outputs
        with self._camera_lock:
            tolerance = settings.outputs.ground.camera_info.info_tolerance
            self._camera_infos.tolerance_ns = round(tolerance * 1e9)
        with self._wake:
            self._wake.notify()
        return SetParametersResult(successful=True)

    # --- worker thread ---------------------------------------------------------------------

    def _next_frame(self) -> tuple[Any, float] | None:
        """Block until a frame is due (respecting max_rate); None when stopping."""
        with self._wake:
            while not self._stopping:
                rate = self.settings.input.max_rate
                wait = self._last_start + 1.0 / rate - time.perf_counter() if rate > 0 else 0.0
                if self._latest is not None and wait <= 0:
                    frame, self._latest = self._latest, None
                    self._last_start = time.perf_counter()
                    return frame
                self._wake.wait(timeout=min(wait, 0.5) if self._latest is not None else 0.5)
        return None

    def _work(self) -> None:
        """Worker loop: process frames until stopped; a failing frame is counted, never fatal."""
        while True:
            try:
                frame = self._next_frame()
                if frame is None:
                    return
                self._process(*frame)
            except InputError as exc:
                self.stats.count("rejected", f"bad input: {exc}")
                self.get_logger().warning(
                    f"skipping frame: {exc}", throttle_duration_sec=WARN_EVERY_S
                )
            except Exception as exc:  # one bad frame must not stop the node
                if not self.context.ok():
                    return  # shutting down (Ctrl-C) while a frame was in flight
                self.stats.count("failed", f"{type(exc).__name__}: {exc}")
                self.get_logger().error(
                    f"frame failed: {type(exc).__name__}: {exc}", throttle_duration_sec=WARN_EVERY_S
                )

    def _process(self, msg: Image | CompressedImage, received: float) -> None:
        """Decode, run the Pipeline, publish, and record the stage latencies of one frame."""
        start = time.perf_counter()
        if isinstance(msg, CompressedImage):
            image, color = compressed_to_array(msg), "bgr"
        else:
            image, color = image_to_array(msg)
        decoded = time.perf_counter()
        result = self.pipeline(image, color=color)
        inferred = time.perf_counter()
        self._publish(result, msg.header, image, color)
        done = time.perf_counter()
        self.stats.count("processed")
        self.stats.record(
            {
                "wait": (start - received) * 1000,
                "decode": (decoded - start) * 1000,
                **result.timings,
                "publish": (done - inferred) * 1000,
                "total": (done - received) * 1000,
            }
        )

    def _publish(self, result: FrameResult, header: Any, image: Any, color: str) -> None:
        """Detections always; the other outputs only for topics with subscribers."""
        publishers = self._output_publishers
        wanted = {"detections"} | {
            name for name, pub in publishers.items() if pub.get_subscription_count() > 0
        }
        stamp = messages.stamp_ns(header)
        with self._camera_lock:
            camera = self._camera_infos.for_image(stamp)
        builds = self.outputs.projector_builds
        if wanted & {"grid", "lane_points"} and self.outputs.camera(result, camera) is None:
            self.get_logger().warning(
                "no intrinsics (camera_info within camera.info_tolerance of the image, or "
                "camera.fx/fy parameters): grid and lane points off",
                throttle_duration_sec=WARN_EVERY_S * 6,
            )
        built = self.outputs.build(result, stamp, header.frame_id, wanted, camera, image, color)
        if self.outputs.projector_builds != builds:
            grid = self.settings.outputs.ground.grid
            self.get_logger().info(
                f"ground mapping built in {self.outputs.last_build_ms:.1f} ms: "
                f"{grid.width}x{grid.height} cells"
            )
        for name, message in built.items():
            self._output_publishers[name].publish(message)
        self.debug_images += "debug_image" in built

    @property
    def ground_builds(self) -> int:
        """Pixel-to-cell mappings computed so far (once per calibration)."""
        return self.outputs.projector_builds

    # --- diagnostics -----------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        """One DiagnosticStatus with rates, counts, stage latencies and the last error."""
        totals, rates = self.stats.rates()
        status = DiagnosticStatus(
            name=f"{self.get_fully_qualified_name()}: perception",
            hardware_id=f"{self.pipeline.backend_name}:{self.pipeline.device}",
        )
        status.level, status.message = self._health(totals, rates)
        values = {
            "input_rate_hz": f"{rates['received']:.2f}",
            "processed_rate_hz": f"{rates['processed']:.2f}",
            **{f"frames_{name}": str(count) for name, count in totals.items()},
            "backend": self.pipeline.backend_name,
            "device": self.pipeline.device,
            "last_error": self.stats.last_error,
            "latency_window_s": f"{self.stats.window_s:g}",
        }
        for stage, (median, p95) in self.stats.latency_summary().items():
            values[f"latency_{stage}_median_ms"] = f"{median:.2f}"
            values[f"latency_{stage}_p95_ms"] = f"{p95:.2f}"
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diag_pub.publish(array)

    @staticmethod
    def _health(totals: dict[str, int], rates: dict[str, float]) -> tuple[bytes, str]:
        """Diagnostic level and summary for the last period."""
        if rates["failed"] > 0:
            return DiagnosticStatus.ERROR, "frames failed in the pipeline"
        if rates["rejected"] > 0:
            return DiagnosticStatus.WARN, "malformed frames skipped"
        if totals["received"] == 0:
            return DiagnosticStatus.WARN, "no image received yet"
        if rates["received"] == 0:
            return DiagnosticStatus.WARN, "no image in the last period"
        return DiagnosticStatus.OK, "ok"

    def stop(self) -> None:
        """Stop the worker thread (waits for the frame in progress)."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._worker.join(timeout=10.0)


def spin_until_shutdown(node: Node, executor: SingleThreadedExecutor) -> None:
    """Spin until shutdown; an exception escaping a callback (e.g. rclpy's parameter service
    on a request it cannot parse) is logged and the node keeps running."""
    executor.add_node(node)
    while rclpy.ok(context=node.context):
        try:
            executor.spin_once(timeout_sec=0.5)
        except (KeyboardInterrupt, ExternalShutdownException):
            return
        except Exception as exc:
            node.get_logger().error(
                f"callback failed, node continues: {type(exc).__name__}: {exc}",
                throttle_duration_sec=WARN_EVERY_S,
            )


def _ignore_further_signals() -> None:
    """After the first Ctrl-C/SIGTERM (ros2 launch forwards one more), finish cleanly."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def main(args: list[str] | None = None) -> None:
    """Entry point `hybridnets_node`: exit 1 with one fatal line when the node cannot start,
    exit 0 on Ctrl-C or SIGTERM (however many arrive), idle or while streaming."""
    rclpy.init(args=args)
    node = None
    code = 0
    try:
        node = HybridNetsNode()
        spin_until_shutdown(node, SingleThreadedExecutor())
    except (HybridNetsError, ParameterException) as exc:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"cannot start: {exc}")
        code = 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        _ignore_further_signals()
        if node is not None:
            node.stop()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    sys.exit(code)


if __name__ == "__main__":
    main()
